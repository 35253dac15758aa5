"""`sealflow archive verify`: every archived document read again from storage and judged;
a file changed or lost on disk, or a sealed file that is not built on the approved bytes, is
named by its request and the command fails; a run resumes after a request id."""

from __future__ import annotations

from app.context import env
from app.extensions import db
from processes import documents
from processes.archive_models import ArchiveEntry
from processes.db import unit_of_work
from tests.app.test_archive import CONTRACT, chinese_pdf
from tests.conftest import seal_one


def _verify(app, *args: str):
    return app.test_cli_runner().invoke(args=["archive", "verify", *args])


def test_an_intact_archive_holds_and_a_changed_or_lost_file_is_named(org, app):
    first = seal_one(org, chinese_pdf(CONTRACT))
    second = seal_one(org, chinese_pdf(["第二份合同"]))
    result = _verify(app)
    assert result.exit_code == 0, result.output
    assert "2 documents checked, 0 with problems" in result.output

    with app.app_context():
        sealed = documents.path_for(env(), first["sealed_document"]["sha256"])
        original = documents.path_for(env(), second["document"]["sha256"])
    sealed.write_bytes(sealed.read_bytes().replace(b"%%EOF", b"%%EOX"))  # bytes changed
    original.unlink()  # lost
    result = _verify(app)
    assert result.exit_code == 1
    assert f"request {first['id']}: the sealed file" in result.output
    assert "does not hold the bytes recorded" in result.output
    assert f"request {second['id']}: the original file" in result.output
    assert "is missing" in result.output
    assert "2 documents checked, 2 with problems" in result.output

    resumed = _verify(app, "--after", str(second["id"]))  # nothing after the last one
    assert resumed.exit_code == 0 and "0 documents checked" in resumed.output


def test_a_sealed_file_not_built_on_the_approved_bytes_is_found(org, app):
    req = seal_one(org, chinese_pdf(CONTRACT))
    other = seal_one(org, chinese_pdf(["另一份合同"]))
    # The entry is made to name another request's approved document (both files intact on
    # disk): the sealed file is not an update of those bytes, and the check says so.
    with app.app_context(), unit_of_work(db.session):
        entry = db.session.get(ArchiveEntry, req["id"])
        entry.document_sha256 = other["document"]["sha256"]
    result = _verify(app)
    assert result.exit_code == 1
    assert (f"request {req['id']}: the sealed file does not begin with the approved "
            "document's bytes") in result.output
    assert f"request {other['id']}:" not in result.output
