import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from signer import (
    KeyUnavailable,
    encrypt_private_key,
    generate_private_key,
    private_key_from_bytes,
    private_key_from_file,
)


@pytest.fixture(scope="module", params=["rsa2048", "rsa3072", "p256"])
def key(request):
    return request.param, generate_private_key(request.param)


def _plain_der(k) -> bytes:
    return k.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def test_key_types(key):
    key_type, k = key
    if key_type == "p256":
        assert isinstance(k, ec.EllipticCurvePrivateKey)
        assert isinstance(k.curve, ec.SECP256R1)
    else:
        assert isinstance(k, rsa.RSAPrivateKey)
        assert k.key_size == int(key_type.removeprefix("rsa"))


def test_encrypted_pem_round_trips_and_hides_the_key(key, passphrase):
    _, k = key
    pem = encrypt_private_key(k, passphrase)

    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    # Neither the plaintext PKCS#8 (as PEM body or raw DER) nor the secret scalar appears.
    plain = _plain_der(k)
    body = base64.b64decode(b"".join(pem.splitlines()[1:-1]))
    assert plain not in body and plain[-32:] not in body
    assert base64.b64encode(plain)[:64] not in pem
    secret = (
        k.private_numbers().private_value
        if isinstance(k, ec.EllipticCurvePrivateKey)
        else k.private_numbers().d
    )
    secret_bytes = secret.to_bytes((secret.bit_length() + 7) // 8, "big")
    assert secret_bytes not in body

    loaded = private_key_from_bytes(pem, passphrase)
    assert _plain_der(loaded) == plain


def test_wrong_passphrase_is_key_unavailable(key, passphrase):
    _, k = key
    pem = encrypt_private_key(k, passphrase)
    with pytest.raises(KeyUnavailable) as excinfo:
        private_key_from_bytes(pem, b"not the passphrase")
    message = str(excinfo.value)
    assert "passphrase" in message
    assert passphrase.decode() not in message
    assert excinfo.value.__cause__ is None and excinfo.value.__suppress_context__


def test_unencrypted_and_damaged_keys_are_refused(passphrase):
    k = generate_private_key("p256")
    plain_pem = k.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(KeyUnavailable, match="unencrypted"):
        private_key_from_bytes(plain_pem, passphrase)
    with pytest.raises(KeyUnavailable):
        private_key_from_bytes(b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n", passphrase)
    with pytest.raises(KeyUnavailable, match="no passphrase"):
        private_key_from_bytes(encrypt_private_key(k, passphrase), b"")


def test_private_key_from_file(tmp_path, passphrase):
    k = generate_private_key("p256")
    path = tmp_path / "seal.key.pem"
    path.write_bytes(encrypt_private_key(k, passphrase))
    assert _plain_der(private_key_from_file(path, passphrase)) == _plain_der(k)


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown key type"):
        generate_private_key("rsa1024")
    with pytest.raises(ValueError, match="passphrase"):
        encrypt_private_key(generate_private_key("p256"), b"")
