"""CSV exports: recognised headers, supplier profiles, encodings, decimal commas, dates."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from invoiceflow.digitize import DigitizeError, load_profile, parse

HEADER = (
    "invoice_number,invoice_date,due_date,currency,supplier,supplier_vat,customer,po_number,"
    "line,description,sku,qty,unit_price,amount,vat_rate"
)
PARTY = "USD,Acme Corp,US123,Buyer Inc"
COMMON = "\n".join(
    [
        HEADER,
        f"INV-1,2024-01-15,2024-02-14,{PARTY},PO-1,1,Widget,W-1,2,10.00,20.00,10",
        f"INV-1,2024-01-15,2024-02-14,{PARTY},PO-1,2,Gadget,G-1,1,5.50,5.50,10",
        "",
        f'INV-2,2024-01-16,,{PARTY},,1,"Bolt, steel",B-1,"1,000",0.10,100.00,0',
        "",
    ]
)


def test_the_common_shape_is_recognised_from_its_headers() -> None:
    first, second = parse(COMMON.encode())
    assert first.invoice_number == "INV-1" and first.source.rows == [2, 3]
    assert (first.issue_date, first.due_date, first.currency) == (
        date(2024, 1, 15),
        date(2024, 2, 14),
        "USD",
    )
    assert first.seller and (first.seller.name, first.seller.tax_id) == ("Acme Corp", "US123")
    assert first.buyer and first.buyer.name == "Buyer Inc" and first.purchase_order == "PO-1"
    assert [(ln.line_id, ln.seller_item_id, ln.net_amount) for ln in first.lines] == [
        ("1", "W-1", Decimal("20.00")),
        ("2", "G-1", Decimal("5.50")),
    ]
    assert first.totals.tax_total == Decimal("2.55")  # 10% of each line, to the cent
    assert first.totals.payable == Decimal("28.05")
    assert second.source.rows == [5, 5]  # the blank line is skipped, rows keep their numbers
    assert second.lines[0].quantity == 1000 and second.lines[0].description == "Bolt, steel"
    assert not [p for p in first.problems + second.problems if p.severity == "error"]


def test_european_exports_semicolons_decimal_commas_cp1252() -> None:
    text = (
        "Rechnungsnummer;Rechnungsdatum;Lieferant;Währung;Bezeichnung;Menge;Einzelpreis;MwSt-Satz\n"
        "R-7;03.02.2024;Müller GmbH;EUR;Schraube;1.200;0,25;19\n"
    )
    [inv] = parse(text.encode("cp1252"))
    assert inv.seller and inv.seller.name == "Müller GmbH"
    assert inv.issue_date == date(2024, 2, 3)
    assert inv.lines[0].quantity == 1200 and inv.lines[0].net_amount == Decimal("300.00")
    assert inv.totals.payable == Decimal("357.00")


def test_a_profile_names_the_columns_of_any_other_shape(tmp_path: Path) -> None:
    profile = tmp_path / "acme.yaml"
    profile.write_text(
        "columns:\n  invoice_number: Beleg\n  issue_date: Am\n  quantity: Stk\n"
        "  unit_price: Preis\n  description: Text\ndecimal: ','\ndate_format: '%d/%m/%Y'\n"
    )
    data = b"Beleg|Am|Text|Stk|Preis\nB1|02/03/2024|Nut|4|1,5\n"
    with pytest.raises(DigitizeError) as err:
        list(parse(data))
    assert err.value.problem.code == "csv_unknown_columns"
    [inv] = parse(data, load_profile(profile))
    assert inv.issue_date == date(2024, 3, 2)
    assert inv.lines[0].net_amount == Decimal("6.0")


@pytest.mark.parametrize(
    ("profile", "message"),
    [
        ({"columns": {"colour": "X"}}, "unknown fields colour"),
        ({"columns": {}, "decimals": ","}, "unknown keys decimals"),
        ({"columns": {"invoice_number": "Nr"}, "decimal": ";"}, "decimal mark"),
    ],
)
def test_bad_profiles_are_refused(profile: dict[str, object], message: str) -> None:
    with pytest.raises(DigitizeError) as err:
        load_profile(profile)
    assert message in str(err.value)


def test_ambiguous_dates_inconsistent_rows_and_bad_numbers_are_problems() -> None:
    text = (
        "invoice_number,date,currency,description,qty,price\n"
        "A,03/04/2024,EUR,x,1,2.00\n"
        "A,03/04/2024,USD,y,two,3.00\n"
    )
    [inv] = parse(text.encode())
    codes = {p.code for p in inv.problems}
    assert {"ambiguous_date", "inconsistent_rows", "bad_number"} <= codes
    assert inv.issue_date == date(2024, 4, 3)  # day first, and said so


def test_an_invoice_number_that_comes_back_later_is_a_duplicate() -> None:
    text = "invoice_number,qty,price,currency\nA,1,1,EUR\nB,1,1,EUR\nA,1,1,EUR\n"
    invoices = list(parse(text.encode()))
    assert [i.invoice_number for i in invoices] == ["A", "B", "A"]
    assert "duplicate_in_file" in {p.code for p in invoices[2].problems}


def test_a_profile_naming_a_missing_column() -> None:
    with pytest.raises(DigitizeError) as err:
        list(parse(b"a,b\n1,2\n", load_profile({"columns": {"invoice_number": "Nr"}})))
    assert err.value.problem.code == "csv_missing_column"


def test_a_jsonata_profile_reads_any_json_shape() -> None:
    profile = load_profile(
        {
            "jsonata": (
                'orders.{"invoice_number": ref, "issue_date": date, "currency": "EUR",'
                ' "seller": {"name": shop}, "lines": [items.{"line_id": $string(pos),'
                ' "quantity": n, "unit_price": price, "net_amount": total}]}'
            )
        }
    )
    data = (
        b'{"orders": [{"ref": "S-1", "date": "2024-05-01", "shop": "Shop",'
        b' "items": [{"pos": 1, "n": 3, "price": 0.1, "total": 0.3}]}]}'
    )
    [inv] = parse(data, profile)
    assert inv.invoice_number == "S-1" and inv.issue_date == date(2024, 5, 1)
    assert inv.lines[0].net_amount == Decimal("0.3") and inv.lines[0].unit_price == Decimal("0.1")
    with pytest.raises(DigitizeError) as err:
        load_profile({"jsonata": "orders.{"})
    assert err.value.problem.code == "bad_profile"


def test_json_numbers_are_read_without_floats() -> None:
    data = (
        b'{"invoice_number": "J",'
        b' "lines": [{"line_id": "1", "quantity": 3, "net_amount": 0.30000000000000001}]}'
    )
    [inv] = parse(data)
    assert inv.lines[0].net_amount == Decimal("0.30000000000000001")


@pytest.mark.parametrize(
    "header", ["Total", "Line Total", "Amount", "Net Amount", "Extended Price", "Nettobetrag"]
)
def test_line_amount_columns_are_checked_against_quantity_and_price(header: str) -> None:
    text = (
        f"Invoice,Currency,Seller,Qty,Unit Price,{header}\n"
        "A,EUR,S,2,5.00,10.00\n"
        "A,EUR,S,3,1.00,4.00\n"
        "A,EUR,S,3,0.333,1.00\n"  # 0.999 is within a cent of 1.00
    )
    [inv] = parse(text.encode())
    assert [ln.net_amount for ln in inv.lines] == [Decimal("10.00"), Decimal("4.00"), Decimal(1)]
    mismatches = [p for p in inv.problems if p.code == "line_amount_mismatch"]
    assert [(p.location, p.severity) for p in mismatches] == [("row 3", "error")]
    assert "3 x 1.00" in mismatches[0].message


def test_the_price_s_own_rounding_is_allowed_for() -> None:
    text = "Invoice,Currency,Seller,Qty,Unit Price,Amount\nA,EUR,S,1000,0.33,333.33\n"
    [inv] = parse(text.encode())  # a price of 0.33333 shown as 0.33
    assert "line_amount_mismatch" not in {p.code for p in inv.problems}


def test_lines_with_only_an_amount_have_quantity_one() -> None:
    text = "Invoice,Currency,Seller,Description,Total\nA,EUR,S,Setup,120.00\nA,EUR,S,Support,80\n"
    [inv] = parse(text.encode())
    assert [(ln.quantity, ln.net_amount) for ln in inv.lines] == [
        (Decimal(1), Decimal("120.00")),
        (Decimal(1), Decimal(80)),
    ]
    assert inv.totals.payable == Decimal("200.00")


def test_a_total_repeated_on_every_row_of_an_invoice_is_the_invoice_total() -> None:
    text = (
        "Invoice,Date,Currency,Seller,Qty,Price,Total\n"
        "A,2024-01-10,EUR,S,2,5.00,13.00\n"
        "A,2024-01-10,EUR,S,1,3.00,13.00\n"
        "B,2024-01-10,EUR,S,1,7.00,7.00\n"
    )
    first, second = parse(text.encode())
    assert [ln.net_amount for ln in first.lines] == [Decimal("10.00"), Decimal("3.00")]
    assert first.totals.payable == Decimal("13.00") and first.problems == []
    assert second.totals.payable == Decimal("7.00") and second.problems == []


def test_a_number_in_the_other_decimal_convention_is_read_with_a_warning() -> None:
    text = (
        "Invoice,Date,Currency,Seller,Qty,Price,Amount\n"
        "A,2024-01-10,EUR,S,1,4.50,4.50\n"
        "A,2024-01-10,EUR,S,1,2.25,2.25\n"
        'A,2024-01-10,EUR,S,1,"18,50","18,50"\n'
        "A,2024-01-10,EUR,S,1,1.00,1.00\n"
        'A,2024-01-10,EUR,S,1,"1,000.00","1,000.00"\n'
    )
    [inv] = parse(text.encode())
    assert [ln.net_amount for ln in inv.lines][2:4] == [Decimal("18.50"), Decimal("1.00")]
    assert inv.lines[4].net_amount == 1000
    [lakh] = parse(text.replace("1,000.00", "1,23,456.00").encode())
    assert lakh.lines[4].net_amount == 123456
    [warning] = [p for p in inv.problems if p.code == "mixed_number_format"]
    assert warning.severity == "warning" and warning.location == "row 4, unit_price"
    assert "18,50" in warning.message
    assert {p.severity for p in inv.problems} == {"warning"}


def test_a_dot_in_a_decimal_comma_file_is_read_with_a_warning() -> None:
    text = (
        "Rechnungsnummer;Datum;Währung;Lieferant;Menge;Einzelpreis\n"
        "R-1;03.02.2024;EUR;M;1.200;0,25\n"
        "R-1;03.02.2024;EUR;M;2;1,50\n"
        "R-1;03.02.2024;EUR;M;1;4.50\n"
    )
    [inv] = parse(text.encode())
    assert [ln.net_amount for ln in inv.lines] == [
        Decimal("300.00"),
        Decimal("3.00"),
        Decimal("4.50"),
    ]
    assert "mixed_number_format" in {p.code for p in inv.problems}


def test_a_number_that_fits_neither_convention_is_refused_not_scaled() -> None:
    text = (
        "Invoice,Date,Currency,Seller,Qty,Price\n"
        "A,2024-01-10,EUR,S,1,4.50\n"
        'A,2024-01-10,EUR,S,1,"18,5000"\n'
    )
    [inv] = parse(text.encode())
    [bad] = [p for p in inv.problems if p.code == "bad_number"]
    assert bad.location == "row 3, unit_price"
    assert inv.lines[1].unit_price is None


DATED = "invoice_number,invoice_date,due_date,currency,supplier,qty,price\n"


def _dated(*dates: tuple[str, str]) -> str:
    return DATED + "".join(
        f"I{n},{issued},{due},EUR,S,1,1.00\n" for n, (issued, due) in enumerate(dates)
    )


def test_a_slashed_date_in_a_file_of_iso_dates_is_flagged_not_swapped() -> None:
    text = _dated(("2026-07-11", "2026-08-10"), ("11/07/2026", ""), ("2026-07-12", ""))
    first, second, third = parse(text.encode())
    assert second.issue_date == date(2026, 7, 11)
    [warning] = [p for p in second.problems if p.code == "ambiguous_date"]
    assert (warning.severity, warning.location) == ("warning", "row 3, issue_date")
    assert "'11/07/2026'" in warning.message and "2026-11-07" in warning.message
    assert "read day first, as 2026-07-11" in warning.message
    assert not [p for p in first.problems + third.problems if p.code == "ambiguous_date"]


def test_a_date_in_the_order_the_file_proves_is_not_ambiguous() -> None:
    day_first = _dated(("25/07/2026", "24/08/2026"), ("11/07/2026", "10/08/2026"))
    month_first = _dated(("07/25/2026", "08/24/2026"), ("11/07/2026", "12/07/2026"))
    _, day = parse(day_first.encode())
    _, month = parse(month_first.encode())
    assert (day.issue_date, day.due_date) == (date(2026, 7, 11), date(2026, 8, 10))
    assert (month.issue_date, month.due_date) == (date(2026, 11, 7), date(2026, 12, 7))
    assert not [p for p in day.problems + month.problems if p.code == "ambiguous_date"]


def test_each_ambiguous_date_is_named_by_its_row_and_field() -> None:
    text = _dated(("03/03/2026", "04/05/2026"), ("2026-01-02", ""), ("12/01/2026", "12/12/2026"))
    first, _, third = parse(text.encode())
    assert [p.location for p in first.problems if p.code == "ambiguous_date"] == ["row 2, due_date"]
    assert [p.location for p in third.problems if p.code == "ambiguous_date"] == [
        "row 4, issue_date"
    ]  # 03/03 and 12/12 read the same either way round
    assert (first.issue_date, first.due_date, third.issue_date) == (
        date(2026, 3, 3),
        date(2026, 5, 4),
        date(2026, 1, 12),
    )


def test_a_file_that_writes_both_orders_proves_neither() -> None:
    text = _dated(("25/07/2026", ""), ("07/26/2026", ""), ("11/07/2026", ""))
    first, second, third = parse(text.encode())
    assert (first.issue_date, second.issue_date) == (date(2026, 7, 25), date(2026, 7, 26))
    [warning] = [p for p in third.problems if p.code == "ambiguous_date"]
    assert warning.location == "row 4, issue_date" and "both ways round" in warning.message


def test_a_row_past_the_sample_proves_the_order_for_the_rows_after_it() -> None:
    filler = [("2026-07-11", "")] * 2000  # past the 64 KiB the order is first looked for in
    text = _dated(*filler, ("11/07/2026", ""), ("25/07/2026", ""), ("11/07/2026", ""))
    *_, before, proof, after = parse(text.encode())
    assert "ambiguous_date" in {p.code for p in before.problems}
    assert proof.issue_date == date(2026, 7, 25)
    assert after.issue_date == date(2026, 7, 11)
    assert "ambiguous_date" not in {p.code for p in after.problems}


def test_a_profile_s_date_format_settles_the_order() -> None:
    profile = load_profile({"date_format": "%m/%d/%Y"})
    [inv] = parse(_dated(("11/07/2026", "")).encode(), profile)
    assert inv.issue_date == date(2026, 11, 7)
    assert "ambiguous_date" not in {p.code for p in inv.problems}


@pytest.mark.parametrize(
    ("name", "encoding"),
    [
        ("Müller GmbH", "cp1252"),  # was read as GB18030: M黮ler
        ("Ærø Øl ApS", "cp1252"),  # was read as Central European: Ćrř Řl
        ("Café 5 €, 20°C", "cp1252"),
        ("£ Crème fraîche", "cp1252"),  # was read as Central European: Ł
        ("Zakład Usług Komunalnych w Łodzi, ulica Żółkiewskiego, Gdańsk", "cp1250"),
        ("Торговый дом Ромашка", "cp1251"),
        ("株式会社山田商事", "cp932"),
        ("北京科技有限公司", "gb18030"),
    ],
)
def test_a_short_export_in_a_code_page_is_read_in_it(name: str, encoding: str) -> None:
    text = f"Rechnungsnummer;Lieferant;Menge;Einzelpreis\nR-7;{name};1;1,00\n"
    [inv] = parse(text.encode(encoding))
    assert inv.seller and inv.seller.name == name


def test_a_number_either_mark_reads_is_flagged_when_the_file_shows_neither() -> None:
    text = (
        "Invoice,Currency,Seller,Qty,Price\n"
        'A,EUR,S,"1,200",3\n'  # 1200, or 1.2 with a decimal comma
        "A,EUR,S,2,7\n"
        "A,EUR,S,1.125,8\n"  # 1.125, or 1125 with dots grouping thousands
    )
    [inv] = parse(text.encode())
    assert [ln.quantity for ln in inv.lines] == [1200, 2, Decimal("1.125")]
    unclear = [p for p in inv.problems if p.code == "ambiguous_number"]
    assert [(p.location, p.severity) for p in unclear] == [
        ("row 2, quantity", "warning"),
        ("row 4, quantity", "warning"),
    ]
    assert "1200 or 1.200" in unclear[0].message
    [shown] = parse(text.replace("A,EUR,S,2,7", "A,EUR,S,2,7.50").encode())
    assert "ambiguous_number" not in {p.code for p in shown.problems}


def test_a_number_after_a_lone_zero_is_a_decimal_not_thousands() -> None:
    text = (
        "Rechnungsnummer;Währung;Lieferant;Menge;Einzelpreis\n"
        "R;EUR;L;1000;0,125\n"
        "R;EUR;L;1000;0,250\n"
    )
    [inv] = parse(text.encode())
    assert [ln.unit_price for ln in inv.lines] == [Decimal("0.125"), Decimal("0.250")]
    assert [ln.net_amount for ln in inv.lines] == [Decimal("125.000"), Decimal("250.000")]
    assert not {"bad_number", "mixed_number_format", "ambiguous_number"} & {
        p.code for p in inv.problems
    }
    dotted = 'Invoice,Currency,Seller,Qty,Price\nA,EUR,S,1,4.50\nA,EUR,S,1000,"0,125"\n'
    [refused] = parse(dotted.encode())  # 0,125 in a file of decimal points: refused, not 125
    [bad] = [p for p in refused.problems if p.code == "bad_number"]
    assert bad.location == "row 3, unit_price" and refused.lines[1].unit_price is None


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("25/7/2026 0:00", date(2026, 7, 25)),
        ("20260725 00:00", date(2026, 7, 25)),
        ("2026-07-25T00:00:00+02:00", date(2026, 7, 25)),
        ("25.07.2026 13:45:00", date(2026, 7, 25)),
    ],
)
def test_the_time_after_a_date_is_left_out(written: str, read: date) -> None:
    [inv] = parse(_dated((written, "")).encode())
    assert inv.issue_date == read
    assert "bad_date" not in {p.code for p in inv.problems}


def test_a_date_with_digits_past_its_year_is_not_a_date() -> None:
    [inv] = parse(_dated(("25/07/20261", "")).encode())
    assert inv.issue_date is None
    assert [p.location for p in inv.problems if p.code == "bad_date"] == ["row 2, issue_date"]


def test_a_delimiter_inside_a_quoted_field_does_not_hide_the_file_s_delimiter() -> None:
    text = 'Rechnungsnummer;Menge;Einzelpreis;Bezeichnung\r\nR-1;2;1,50;"Stifte; blau"\r\n'
    [inv] = parse(text.encode())
    assert inv.lines[0].description == "Stifte; blau"
    assert inv.lines[0].net_amount == Decimal("3.00")


@pytest.mark.parametrize(
    ("fmt", "written"),
    [("%d %b %Y", "11 Jul 2026"), ("%m/%d/%Y %I:%M %p", "07/11/2026 10:30 PM")],
)
def test_a_profile_s_date_format_reads_the_whole_cell(fmt: str, written: str) -> None:
    [inv] = parse(_dated((written, "")).encode(), load_profile({"date_format": fmt}))
    assert inv.issue_date == date(2026, 7, 11)


def test_a_stray_bad_byte_does_not_make_a_utf8_file_a_code_page() -> None:
    rows = "".join(f"N{i},2026-01-02,EUR,Müller Büro,Stück {i},1,2.50\n" for i in range(50))
    data = "invoice_number,invoice_date,currency,supplier,description,qty,unit_price\n" + rows
    invoices = list(parse(data.encode().replace(b"N7,", b"N7\xff,")))
    assert {i.seller.name for i in invoices if i.seller} == {"Müller Büro"}
    assert invoices[3].lines[0].description == "Stück 3"
