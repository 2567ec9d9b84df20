"""A tenant's stored profiles are bounded: every upload that names none tries them all."""

from __future__ import annotations

from pathlib import Path

import pytest

from invoiceflow.pipeline import profiles
from invoiceflow.store.sqlite import SQLiteDatabase

PROFILE = {"columns": {"invoice_number": "Nr", "quantity": "Qty", "unit_price": "Price"}}


def test_a_tenant_has_at_most_so_many_profiles(tmp_path: Path) -> None:
    db = SQLiteDatabase(str(tmp_path / "p.db"), synchronous="OFF")
    db.migrate()
    for n in range(profiles.MAX_PROFILES):
        profiles.put(db, "acme", f"p{n:03d}", PROFILE, match_file=f"p{n:03d}-*.csv")
    with pytest.raises(profiles.ProfileError, match="delete one first"):
        profiles.put(db, "acme", "one-more", PROFILE)
    profiles.put(db, "acme", "p000", PROFILE, match_supplier="Acme Ltd")  # a replacement
    profiles.put(db, "globex", "first", PROFILE)  # another tenant's count is its own
    chosen = profiles.choose(db, "acme", "P199-june.csv", b"Nr,Qty,Price\n")
    assert chosen is not None and chosen.name == "p199"
    by_supplier = profiles.choose(db, "acme", "june.csv", b"Nr;Qty;Price;ACME LTD\n")
    assert by_supplier is not None and by_supplier.name == "p000"
    db.close()
