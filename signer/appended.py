"""Signing an incremental update without copying the document before it.

pyHanko writes the whole file again into a new buffer (10 MB copied for a 10 MB file), then
hashes the signature's byte range over that buffer. For a seal (an incremental update: the
original bytes first, unchanged) :class:`AppendedOutput` keeps the original bytes as they are
and takes only the update, and :func:`fill_after` computes the byte-range digest by going on
from the SHA-256 state of the approved bytes, which the approval check has just computed: the
file is hashed once, and what is signed is the approved bytes followed by the update, by
construction. Used for B-B and B-T seals; B-LT and B-LTA, which rewrite the output after
signing, take pyHanko's own path. :func:`sign_in_steps` runs pyHanko's interactive signing
steps with either.
"""

from __future__ import annotations

import io

from pyhanko.pdf_utils import misc
from pyhanko.sign import signers
from pyhanko.sign.signers.pdf_byterange import PdfByteRangeDigest, PreparedByteRangeDigest
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes

from .approval_check import ApprovalCheck
from .errors import SigningFailed
from .pdf import SealWriter

__all__ = ["AppendedOutput", "fill_after", "sign_in_steps"]


class AppendedOutput:
    """A seekable, writable stream whose first bytes are the original document, read-only (a
    write there raises), followed by what pyHanko writes."""

    def __init__(self, original: bytes):
        self._original = original
        self.base = len(original)
        self._update = bytearray()
        self._pos = self.base

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        start = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos,
                 io.SEEK_END: self.base + len(self._update)}[whence]
        if start + offset < 0:
            raise ValueError("negative seek position")
        self._pos = start + offset
        return self._pos

    def write(self, data) -> int:
        if self._pos < self.base:
            raise io.UnsupportedOperation("the original bytes are never written again")
        at = self._pos - self.base
        if at == len(self._update):  # appending, as pyHanko's ~2000 writes per seal all do
            self._update += data
            written = len(self._update) - at
            self._pos += written
            return written
        data = bytes(data)
        if at > len(self._update):
            self._update.extend(bytes(at - len(self._update)))
        self._update[at:at + len(data)] = data
        self._pos += len(data)
        return len(data)

    def flush(self) -> None:
        pass

    def seekable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    @property
    def update(self) -> bytes:
        """The incremental update as written so far."""
        return bytes(self._update)

    def getvalue(self) -> bytes:
        return self._original + self._update


def fill_after(sig_obj: PdfByteRangeDigest, writer, output: AppendedOutput, approved_state):
    """What :meth:`PdfByteRangeDigest.fill` does (the same coroutine protocol), writing the
    update into ``output`` and digesting the byte range from ``approved_state`` on.

    :raises SigningFailed: the signature's placeholder is not in the update (it always is in an
        incremental update; anything else is refused rather than signed).
    """
    writer.digest_aware_write = True
    writer.write(output)
    eof = output.tell()
    sig_start, sig_end = sig_obj.contents.offsets
    if not output.base < sig_start < sig_end <= eof:
        raise SigningFailed("the signature's placeholder is not in the incremental update")
    sig_obj.byte_range.fill_offsets(output, sig_start, sig_end, eof)
    update = output.update
    digest = approved_state  # SHA-256 over the original bytes, the start of the byte range
    digest.update(update[:sig_start - output.base])
    digest.update(update[sig_end - output.base:eof - output.base])
    prepared = PreparedByteRangeDigest(document_digest=digest.digest(),
                                       reserved_region_start=sig_start,
                                       reserved_region_end=sig_end)
    cms_data = yield prepared, output
    # AppendedOutput is the file-like part pyHanko uses (seek, tell, write), not a whole IO.
    yield prepared.fill_with_cms(output, cms_data)  # type: ignore[arg-type]


async def sign_in_steps(pdf_signer: signers.PdfSigner, writer: SealWriter, reserved: int,
                        approved: ApprovalCheck, original: bytes | None = None):
    """:meth:`PdfSigner.async_sign_pdf`, step by step (pyHanko's interactive signing API), to
    wait for the approval check between the document digest and the signature.

    It returns the stream, not its bytes: on the main thread, Python 3.11's ``asyncio.run``
    formats the finished task, result included, while checking its SIGINT handler, which
    costs 0.1 s for a 10 MB result."""
    session = pdf_signer.init_signing_session(writer)
    validation_info = await session.perform_presign_validation(writer)
    tbs = session.prepare_tbs_document(validation_info=validation_info, bytes_reserved=reserved)
    sig_obj = writer.signature_object
    if original is not None and sig_obj is not None and tbs.post_sign_instructions is None:
        # B-B and B-T: the update after the original bytes, digested on from their approved
        # SHA-256 (signer.appended); pyHanko calls this in place of the placeholder's fill.
        appended = AppendedOutput(original)
        sig_obj.fill = lambda w, md_algorithm, **_: fill_after(  # type: ignore[method-assign]
            sig_obj, w, appended, approved.approved_state())
    prepared, output = tbs.digest_tbs_document()
    approved.wait()
    post = await tbs.perform_signature(
        document_digest=prepared.document_digest,
        pdf_cms_signed_attrs=PdfCMSSignedAttributes(
            signing_time=session.system_time,
            adobe_revinfo_attr=(
                None if validation_info is None else validation_info.adobe_revinfo_attr
            ),
            cades_signed_attrs=pdf_signer.signature_meta.cades_signed_attr_spec,
        ),
    )
    await post.post_signature_processing(output, chunk_size=misc.DEFAULT_CHUNK_SIZE)
    return output
