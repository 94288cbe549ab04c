"""Encryption of secrets at rest: Fernet tokens under the keys of OUTCOME_ENCRYPTION_KEYS.

The setting lists Fernet keys newest first. The newest encrypts; every key decrypts, so a
new key can be put in front while rows encrypted with the older ones are still read, and
`outcome keys rotate` then re-encrypts them all with the newest one.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from bot.core.errors import ConfigError

SETTING = "OUTCOME_ENCRYPTION_KEYS"
HOW_TO_MAKE_A_KEY = (f"Make a key with `outcome keys new` and set {SETTING}=<key> (or put it "
                     f"in a file named by {SETTING}_FILE); list older keys after it, "
                     "comma-separated.")


def new_key() -> str:
    """A fresh random Fernet key (32 bytes, URL-safe base64)."""
    return Fernet.generate_key().decode("ascii")


class Keyring:
    """The keys of :data:`SETTING`, newest first; build with :meth:`from_setting`."""

    def __init__(self, keys: list[Fernet]) -> None:
        self._fernet = MultiFernet(keys)

    @classmethod
    def from_setting(cls, text: str) -> Keyring:
        """Parse the setting's value; a missing or malformed key is a :class:`ConfigError`
        that says how to make one (and never shows the value)."""
        parts = [part.strip() for part in text.split(",")]
        if not any(parts):
            raise ConfigError(f"{SETTING} is not set: Slack tokens are stored encrypted. "
                              f"{HOW_TO_MAKE_A_KEY}")
        keys = []
        for number, part in enumerate(parts, start=1):
            try:
                keys.append(Fernet(part.encode("ascii")))
            except (ValueError, UnicodeEncodeError):
                raise ConfigError(
                    f"{SETTING}: key {number} of {len(parts)} is not a Fernet key (32 "
                    f"random bytes in URL-safe base64, 44 characters). {HOW_TO_MAKE_A_KEY}"
                ) from None
        return cls(keys)

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, ciphertext: str, what: str = "a stored secret") -> str:
        """The plaintext, or a :class:`ConfigError` naming ``what`` when no key fits."""
        try:
            return self._fernet.decrypt(ciphertext.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise _no_key_fits(what) from None

    def rotate(self, ciphertext: str, what: str = "a stored secret") -> str:
        """``ciphertext`` encrypted again with the newest key."""
        try:
            return self._fernet.rotate(ciphertext.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeError):
            raise _no_key_fits(what) from None


def _no_key_fits(what: str) -> ConfigError:
    return ConfigError(f"{SETTING} cannot decrypt {what}: the key that encrypted it is not in "
                       "the list. Put that key back (after the newest one) and run `outcome "
                       "keys rotate` before removing it.")
