"""Personal data at rest: AES-GCM ciphertexts plus keyed blind indexes for exact look-up.

Each field has its own encryption context and index purpose, so a ciphertext or index of one field
is useless as another. Names are indexed after NFKC, trimming and case folding.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Literal

from forecourt.kit.crypto import KeyRing, blind_index

Field = Literal["phone", "name", "id_number", "code_secret", "import_report"]


def normalise_name(name: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", name).split()).casefold()


@dataclass(frozen=True)
class Pii:
    keyring: KeyRing
    secret_key: str

    def seal(self, field: Field, value: str | None) -> str | None:
        return None if value is None else self.keyring.encrypt(value, f"member.{field}")

    def open(self, field: Field, token: str | None) -> str | None:
        return None if token is None else self.keyring.decrypt(token, f"member.{field}")

    def index(self, field: Field, normalised_value: str | None) -> str | None:
        if normalised_value is None:
            return None
        return blind_index(self.secret_key, f"member.{field}", normalised_value)

    def phone_index(self, e164: str) -> str:
        return blind_index(self.secret_key, "member.phone", e164)

    def name_index(self, name: str | None) -> str | None:
        return self.index("name", normalise_name(name)) if name else None
