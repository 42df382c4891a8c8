"""The licence-plate guard on its own: every spelling of a plate is found, ordinary Dutch text passes.

The whole-delivery behaviour (exit code 2, warehouse unchanged) is the fault corpus in
faults_plates.py; these tests pin the matcher, the normaliser and where findings are reported.
"""

from __future__ import annotations

import json

import pytest

from anpr_warehouse.generate import GenerateRequest, generate_delivery
from anpr_warehouse.load.plate_guard import find_digest, find_plate, judge, scan_json, scan_text
from anpr_warehouse.load.problems import Collector
from anpr_warehouse.load.reader import RawDelivery
from anpr_warehouse.load.validate import check_delivery, scan_for_plates

# All 14 side codes, with and without dashes, then the disguises the contract settles.
SIDE_CODES = [
    "AB-12-34",
    "AB1234",
    "12-34-AB",
    "1234AB",
    "12-AB-34",
    "12AB34",
    "AB-12-CD",
    "AB12CD",
    "AB-CD-12",
    "ABCD12",
    "12-AB-CD",
    "12ABCD",
    "12-ABC-3",
    "12ABC3",
    "1-ABC-23",
    "1ABC23",
    "AB-123-C",
    "AB123C",
    "A-123-BC",
    "A123BC",
    "ABC-12-D",
    "ABC12D",
    "A-12-BCD",
    "A12BCD",
    "1-AB-234",
    "1AB234",
    "123-AB-4",
    "123AB4",
]
SPELLINGS = [
    "vb-12-cd",
    "VB.12.CD",
    "VB_12_CD",
    "VB 12 CD",
    "VB  12  CD",
    "VB - 12 - CD",
    "VB-12 CD",
    "kentekenVB-12-CD",
    "VB-12-CDgezien",
    "foto1-ABC-23",
    "kenteken: VB 12 CD",
    "foto/VB12CD",
    "VB12CD+",
    "(VB12CD)",
    "zie VB12CD.",
    "ＶＢ-１２-ＣＤ",
    "ＶＢ１２ＣＤ",
    "𝐕𝐁-𝟏𝟐-𝐂𝐃",
    "VB\u200b12CD",
    "VB\u200d-12-\u200cCD",
    "V\u00adB12CD",
    "\ufeffVB12CD",
    "VB\u00a012\u00a0CD",
    "VB\u202f12\u202fCD",
    "VB\u300012\u3000CD",
    "VB\u201112\u2011CD",
    "VB\u201012\u2010CD",
    "VB\u221212\u2212CD",
    "VB\u201412\u2014CD",
    "VB\uff0d12\uff0dCD",
    "V\u034fB-12-CD",
    "VB-12-ÇD",
    "ВВ-12-СD",
    "ΑΒ-12-ΚΜ",
    "ʙᴠ-12-ᴄᴅ",
    "VB\t12\tCD",
    "VB-١٢-CD",
    "GM-03-44",
    "GM.03.44",
    "GM 03 44",
    "FA-20-20",
    "3511AB",
    "Postbus 3511AB Utrecht",
    "GM0344XY-12-AB",
]
LEGIT = [
    # places, streets, addresses
    "Vredenburg",
    "Catharijnesingel 12",
    "Catharijnesingel 12, Utrecht",
    "3511 AB",
    "3511 AB Utrecht",
    "Postbus 16200, 3500 CE Utrecht",
    "Oudegracht 231-233",
    "Kanaalweg 12 en Singel",
    "Perron 12",
    "Stationsweg 2 (Utrecht)",
    "Amsterdamsestraatweg (Utrecht)",
    "Kruising Weg 1-3",
    "Van Sijpesteijnkade 1-3",
    "'s-Hertogenbosch",
    "Sint-Jacobsstraat",
    "Leidsche Rijn Centrum-Oost",
    "1e Daalsedijk",
    "Fryslân",
    "Zero-emissiezone Utrecht",
    "Milieuzone Utrecht",
    "Hoek Biltstraat / Kennedylaan 12a",
    # roads
    "A28 / N340",
    "A2-N2",
    "N230 / A27 aansluiting 29",
    "N201 km 12,3",
    "A12 hmp 45.6",
    "Ring 10 Noord",
    # dates, times, numbers
    "2025-03-05",
    "05-03-2025",
    "10:00",
    "23:59:59",
    "2025-04-20T10:00:00+02:00",
    "49.41",
    "52.091456",
    "5.138498",
    "137955.8",
    "15 min",
    "H02 bestaat niet op 2025-03-30",
    "2 tot 4 dagen",
    "1999 of eerder",
    # SBI sections and code-list words
    "A",
    "H",
    "U",
    "NVT",
    "Landbouw, bosbouw en visserij",
    "Lease (sector van de lessee)",
    "Euro 6",
    "Euro VI",
    "emissieklasse Euro 6 (2014-2025)",
    "CO2-uitstoot 2025",
    "Unieke voertuigen",
    "Unieke voertuigen binnen de maand en zone van de tabel; niet optelbaar over maanden of zones.",
    # contract identifiers
    "GM0344",
    "FA2020",
    "FA1999",
    "PV26",
    "PV20",
    "GM0344_L001",
    "GM0344_Z01",
    "2026MM06",
    "2025MM03",
    "CBS-ANPR-GM0344-2025MM03-1",
    "CBS-ANPR-LEGACY-GM0344-2025MM03-0123456789ab",
    "T01_Observations.csv",
    "M_PASSAGES",
    "M_VEHICLES",
    "D02_04",
    "D20P",
    "BUITENLAND",
    "GM_EIGEN",
    "H00",
    "H23",
    "E6",
    "EZ",
    "ONBK",
    "T001",
    "GM0344_2025-03_passages_per_uur.csv",
    "GM0344_2025-03_legacy",
    "cbs-anpr-delivery/1",
    # long words, short hex
    "Rijkswaterstaatsdienstverlening",
    "Hoogheemraadschap",
    "Stadsdistributiecentrum",
    "Bevoorradingsvenstertijdenontheffingsaanvraag",
    "deadbeef",
    "550e8400",
    "abcdef0123456789abcdef012345678",
    "lang " * 200,
]


@pytest.mark.parametrize("value", SIDE_CODES + SPELLINGS)
def test_every_spelling_of_a_plate_is_found(value):
    assert find_plate(value), f"{value!r} was not seen as a plate"
    assert "licence-plate" in {finding.rule for finding in judge(value)}


@pytest.mark.parametrize("value", LEGIT)
def test_ordinary_dutch_text_and_contract_identifiers_pass(value):
    assert judge(value) == []


@pytest.mark.parametrize("value", ["nummers 12 en 13", "de 12 km", "op 5 mei 25"])
def test_prose_with_a_side_code_between_spaces_is_refused_as_the_contract_settles(value):
    """`VB 12 CD` is a plate, so `12 en 13` (side code 3) is too: the settled rule has no word list."""
    assert find_plate(value)


def test_the_corpora_are_large():
    assert len(SIDE_CODES + SPELLINGS) >= 40 and len(LEGIT) >= 60


@pytest.mark.parametrize(
    "value",
    [
        "550e8400-e29b-41d4-a716-446655440000",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "0123456789abcdef0123456789abcdef",
        "sha256:E3B0C44298FC1C149AFBF4C8996FB924",
        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
        "q3Zb9LxYtR2vWm8KpN4sJd",
        "０１２３４５６７８９ａｂｃｄｅｆ０１２３４５６７８９ａｂｃｄｅｆ",
    ],
)
def test_hashed_plates_are_found(value):
    assert find_digest(value)
    assert "hashed-identifier" in {finding.rule for finding in judge(value)}


def test_a_digest_may_stand_only_as_a_manifest_checksum():
    digest = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert scan_json(json.dumps({"files": [{"name": "T01_Observations.csv", "sha256": digest}]})) == []
    findings = scan_json(json.dumps({"municipality": {"name": digest}}))
    assert [(f.rule, f.message.split(":")[0]) for f in findings] == [("hashed-identifier", "municipality.name")]


def test_json_escapes_are_decoded_before_matching():
    text = json.dumps({"municipality": {"code": "GM0344", "name": "VB-12-CD"}}, indent=2).replace("VB", "\\u0056\\u0042")
    assert "VB" not in text
    findings = scan_json(text)
    assert [f.rule for f in findings] == ["licence-plate"] and findings[0].message.startswith("municipality.name:")
    assert findings[0].line == 4  # the escaped literal's own line
    assert scan_json("{not json") is None


def test_text_rule_control_characters_and_long_fields_with_their_lines():
    text = "Identifier,Title,Description\nA,Goed,\nB,Kanaal\x00weg,\nC," + "x" * 1001 + ",\nD,met\ttab,\nE,los\rteken,\n"
    findings = [(f.rule, f.line) for f in scan_text(text)]
    assert sorted(findings) == [("text", 3), ("text", 4), ("text", 5), ("text", 6)]
    quoted = 'Identifier,Title,Description\nA,"twee\nregels",\n'
    assert [(f.rule, f.line) for f in scan_text(quoted)] == [("text", 3)]
    assert scan_text('Identifier,Title\r\nA,Goed\r\nB,"Landbouw, bosbouw"\r\n') == []


def test_plates_are_reported_on_the_line_they_first_stand():
    rows = "".join(f"{i},M_PASSAGES,GM0344_L001,2025-03-01,H00,BEST,5,None\n" for i in range(1, 500))
    text = (
        "Id,Measure,Location,Date,Hour,VehicleCategory,Value,ValueAttribute\n"
        + rows
        + "500,M_PASSAGES,VB-12-CD,2025-03-01,H00,BEST,5,None\n"
    )
    assert [(f.rule, f.line) for f in scan_text(text)] == [("licence-plate", 501)]


def test_zip_entry_names_and_comment_are_scanned_from_source_texts():
    files = {"Notes.csv": b"Identifier,Title,Description\nA,Goed,\n"}
    clean = RawDelivery("/data/in/CBS-ANPR-GM0344-2025MM03-1.zip", files)
    problems = Collector()
    scan_for_plates(clean, problems)
    assert not problems
    seen = RawDelivery(
        clean.source,
        files,
        [
            ("CBS-ANPR-GM0344-2025MM03-1.zip!levering/VB-12-CD.csv", "levering/VB-12-CD.csv"),
            ("CBS-ANPR-GM0344-2025MM03-1.zip (comment)", "kenteken\u200b VB\u201112\u2011CD gezien"),
            ("CBS-ANPR-GM0344-2025MM03-1.zip (comment 2)", "550e8400-e29b-41d4-a716-446655440000"),
        ],
    )
    problems = Collector()
    scan_for_plates(seen, problems)
    assert sorted((p.file, p.rule) for p in problems.summarise()) == [
        ("CBS-ANPR-GM0344-2025MM03-1.zip (comment 2)", "hashed-identifier"),
        ("CBS-ANPR-GM0344-2025MM03-1.zip (comment)", "licence-plate"),
        ("CBS-ANPR-GM0344-2025MM03-1.zip!levering/VB-12-CD.csv", "licence-plate"),
    ]


def test_the_delivery_name_the_register_keeps_is_scanned():
    problems = Collector()
    scan_for_plates(RawDelivery("/data/in/kenteken-VB-12-CD", {"Notes.csv": b"Identifier\nA\n"}), problems)
    assert [(p.file, p.rule) for p in problems.summarise()] == [("kenteken-VB-12-CD", "licence-plate")]


@pytest.mark.parametrize(
    "request_",
    [
        GenerateRequest("GM0344", 2025, 3, seed=42, locations=40),
        GenerateRequest("GM0599", 2025, 2, layout="legacy", seed=42, locations=40),
        GenerateRequest("GM0363", 2025, 1, seed=3, locations=12, as_zip=True),
    ],
    ids=["v1-40-locations", "legacy-40-locations", "v1-zip"],
)
def test_generated_deliveries_are_never_refused(request_, tmp_path):
    path = generate_delivery(request_, tmp_path)
    checked, problems = check_delivery(path)
    assert problems == [] and checked is not None
