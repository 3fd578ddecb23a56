"""RSA/Ed25519 key generation and cached PEM loading for HTTP signatures."""

from __future__ import annotations

from functools import lru_cache

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

PublicKey = rsa.RSAPublicKey | ed25519.Ed25519PublicKey
PrivateKey = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey


class InvalidKey(ValueError):
    """A PEM could not be parsed or holds an unsupported key type."""


def generate_rsa_keypair(bits: int = 2048) -> tuple[str, str]:
    """Generate an RSA key pair and return ``(private_pem, public_pem)`` as text.

    2048 bits is what Mastodon generates and what every Fediverse server accepts.
    """
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )
    return private_pem, public_pem


# Parsing an RSA private key with full validation costs ~48 ms (OpenSSL checks the primes);
# every outgoing delivery signs, so parsed keys are cached by their PEM text. Keys are
# immutable objects, so sharing them between tasks is safe.
@lru_cache(maxsize=1024)
def load_private_key(pem: str) -> PrivateKey:
    """Load an RSA or Ed25519 private key from PEM (cached).

    Validation of RSA keys is skipped (``unsafe_skip_rsa_key_validation``) because the only
    private keys we ever load are ones we generated ourselves and stored; they are trusted.
    Never pass a private key obtained from elsewhere.
    """
    try:
        key = serialization.load_pem_private_key(
            pem.encode("ascii"), password=None, unsafe_skip_rsa_key_validation=True
        )
    except (ValueError, TypeError) as exc:
        raise InvalidKey(f"invalid private key PEM: {exc}") from exc
    if not isinstance(key, rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
        raise InvalidKey(f"unsupported private key type {type(key).__name__}")
    return key


@lru_cache(maxsize=10_000)
def load_public_key(pem: str) -> PublicKey:
    """Load an RSA or Ed25519 public key from PEM (cached; remote keys are reused per request).

    Accepts SubjectPublicKeyInfo (``BEGIN PUBLIC KEY``) and PKCS#1 (``BEGIN RSA PUBLIC KEY``),
    which some older servers publish. Raises ``InvalidKey`` on anything else.
    """
    data = pem.strip().encode("ascii", errors="replace")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise InvalidKey(f"invalid public key PEM: {exc}") from exc
    if not isinstance(key, rsa.RSAPublicKey | ed25519.Ed25519PublicKey):
        raise InvalidKey(f"unsupported public key type {type(key).__name__}")
    return key
