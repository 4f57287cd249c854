#!/usr/bin/env python3
"""Writes the bad-input corpus: tests/corpus/bad/<case>/ with one member's files and
expected.yaml. The folders are checked in; this script is how most of them were made (a case
can also be written by hand). Run from the repository root: python3 tests/corpus/make_corpus.py

Each case's expected.yaml says what the run must make of the member's files:
  about:    what the case is
  exit:     the run's exit code (0: published; one member's bad files never fail a run)
  accepted: whether the member's 2024 submission as a whole is accepted
  rejected: the datasets rejected
  issues:   every validation issue of the member: dataset, rule, record, column (absent: null)
  limits:   pipeline limits for this case (optional)
  generate: files the test makes instead of storing them (optional)
"""
import gzip
import io
import json
import os
import shutil
import tarfile
import zipfile

import pyarrow as pa
import pyarrow.parquet as pq

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bad")
CASES = {}

DECL_COLUMNS = ["declaration_id", "flow", "lodged_at", "released_at", "electronic",
                "standardized", "pre_arrival", "channel", "aeo", "ecommerce", "customs_value",
                "duty_assessed", "office", "transport_mode"]
STAFF_COLUMNS = ["unit", "headcount", "female_headcount", "training_hours", "integrity_cases",
                 "budget"]
NUMERIC = {"customs_value", "duty_assessed", "headcount", "female_headcount", "training_hours",
           "integrity_cases", "budget"}
BOOLS = {"electronic", "standardized", "pre_arrival", "aeo", "ecommerce"}


def declarations(n=10):
    import datetime
    rows = []
    for i in range(1, n + 1):
        day = datetime.date(2024, 3, 1) + datetime.timedelta(days=i - 1)
        rows.append({
            "declaration_id": f"D{i}", "flow": ["IM", "EX", "TR"][i % 3],
            "lodged_at": f"{day}T10:00:00Z", "released_at": f"{day + datetime.timedelta(days=1)}T09:00:00Z",
            "electronic": "true", "standardized": "false", "pre_arrival": "true", "channel": "green",
            "aeo": "false", "ecommerce": "false", "customs_value": f"{100 + i}.5",
            "duty_assessed": "10", "office": "OFF1", "transport_mode": "sea"})
    return DECL_COLUMNS, rows


def staff(n=10):
    rows = []
    for i in range(1, n + 1):
        rows.append({"unit": f"U{i}", "headcount": str(10 + i), "female_headcount": "5",
                     "training_hours": "12.5", "integrity_cases": "0", "budget": "1000"})
    return STAFF_COLUMNS, rows


def csv_text(columns, rows, sep=",", newline="\n"):
    def cell(v):
        if v is None:
            return ""
        if any(c in v for c in '",\n\r') :
            return '"' + v.replace('"', '""') + '"'
        return v
    lines = [sep.join(columns)]
    lines += [sep.join(cell(r.get(c)) for c in columns) for r in rows]
    return newline.join(lines) + newline


def jsonl_text(columns, rows, typed=True):
    out = []
    for r in rows:
        obj = {}
        for c in columns:
            v = r.get(c)
            if v is None:
                obj[c] = None
            elif typed and c in BOOLS and v in ("true", "false"):
                obj[c] = v == "true"
            elif typed and c in NUMERIC:
                try:
                    obj[c] = int(v) if v.lstrip("-").isdigit() else float(v)
                    if obj[c] != obj[c] or obj[c] in (float("inf"), float("-inf")):
                        obj[c] = v  # JSON has no NaN or infinity: the text as written
                except ValueError:
                    obj[c] = v
            else:
                obj[c] = v
        out.append(json.dumps(obj, ensure_ascii=False))
    return "\n".join(out) + "\n"


def parquet_bytes(columns, rows):
    table = pa.table({c: pa.array([r.get(c) for r in rows], type=pa.string()) for c in columns})
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def encode(fmt, columns, rows):
    if fmt == "csv":
        return csv_text(columns, rows).encode()
    if fmt == "csv.gz":
        return gzip.compress(csv_text(columns, rows).encode(), mtime=0)
    if fmt == "jsonl":
        return jsonl_text(columns, rows).encode()
    if fmt == "parquet":
        return parquet_bytes(columns, rows)
    raise ValueError(fmt)


def issue(dataset=None, rule=None, record=None, column=None):
    return {"dataset": dataset, "rule": rule, "record": record, "column": column}


def case(name, about, files, issues, accepted=True, rejected=(), limits=None, generate=None):
    assert name not in CASES, name
    CASES[name] = dict(about=about, files=files, issues=issues, accepted=accepted,
                       rejected=list(rejected), limits=limits, generate=generate)


FORMATS = ["csv", "csv.gz", "jsonl", "parquet"]

# Row faults: (name, dataset, column, bad value, record, rule, about)
ROW_FAULTS = [
    ("flow_not_listed", "declarations", "flow", "XX", 2, "enum", "an enum value that is not listed"),
    ("flow_lower_case", "declarations", "flow", "im", 4, "enum", "an enum value in the wrong case"),
    ("channel_unknown", "declarations", "channel", "blue", 3, "enum", "a channel that does not exist"),
    ("transport_unknown", "declarations", "transport_mode", "boat", 5, "enum", "an optional enum column with an unknown value"),
    ("timestamp_words", "declarations", "lodged_at", "yesterday", 2, "type", "a timestamp in words"),
    ("timestamp_feb_30", "declarations", "lodged_at", "2024-02-30T10:00:00Z", 6, "type", "a timestamp on a day that does not exist"),
    ("timestamp_bad_offset", "declarations", "lodged_at", "2024-03-01T10:00:00+25:00", 3, "type", "a timestamp with an impossible offset"),
    ("timestamp_other_year", "declarations", "lodged_at", "2023-12-31T10:00:00Z", 7, "year", "a declaration lodged in another year"),
    ("timestamp_required_empty", "declarations", "lodged_at", None, 8, "required", "a required timestamp left empty"),
    ("released_before_lodged", "declarations", "released_at", "2024-03-01T00:00:00Z", 9, "not_before", "released before it was lodged"),
    ("bool_maybe", "declarations", "electronic", "maybe", 2, "type", "a boolean that is neither true nor false"),
    ("bool_yes", "declarations", "aeo", "yes", 3, "type", "a boolean written yes"),
    ("bool_empty", "declarations", "standardized", None, 4, "required", "a required boolean left empty"),
    ("decimal_comma", "declarations", "customs_value", "12,5", 2, "type", "a decimal with a comma"),
    ("decimal_nan", "declarations", "customs_value", "NaN", 3, "type", "a decimal that is NaN"),
    ("decimal_infinite", "declarations", "customs_value", "inf", 4, "type", "an infinite decimal"),
    ("decimal_thousands", "declarations", "customs_value", "1 000.5", 5, "type", "a decimal with a thousands separator"),
    ("decimal_negative", "declarations", "customs_value", "-1", 6, "min", "a value below its minimum"),
    ("optional_decimal_negative", "declarations", "duty_assessed", "-0.5", 7, "min", "an optional value below its minimum"),
    ("id_empty", "declarations", "declaration_id", None, 5, "required", "an empty key"),
    ("int_fraction", "staff", "headcount", "1.5", 2, "type", "an integer with a fraction"),
    ("int_overflow", "staff", "headcount", "99999999999999999999", 3, "type", "an integer too large for 64 bits"),
    ("int_negative", "staff", "integrity_cases", "-3", 4, "min", "a count below zero"),
    ("int_words", "staff", "headcount", "twelve", 5, "type", "an integer in words"),
    ("not_after_column", "staff", "female_headcount", "500", 6, "not_after", "more female staff than staff"),
    ("decimal_words", "staff", "training_hours", "many", 7, "type", "a decimal in words"),
    ("required_int_empty", "staff", "integrity_cases", None, 8, "required", "a required integer left empty"),
    ("optional_negative_budget", "staff", "budget", "-100", 9, "min", "an optional decimal below zero"),
]

BUILDERS = {"declarations": declarations, "staff": staff}

for name, dataset, column, value, record, rule, about in ROW_FAULTS:
    for fmt in FORMATS:
        columns, rows = BUILDERS[dataset]()
        rows[record - 1][column] = value
        case(f"row_{name}_{fmt.replace('.', '_')}", f"{about} ({fmt})",
             {f"year=2024/{dataset}.{fmt}": encode(fmt, columns, rows)},
             [issue(dataset, rule, record, column)])

# Repeated keys, in every format.
for fmt in FORMATS:
    columns, rows = declarations()
    rows[2]["declaration_id"] = "D1"
    case(f"row_key_repeated_{fmt.replace('.', '_')}", f"a key repeated on record 3 ({fmt})",
         {f"year=2024/declarations.{fmt}": encode(fmt, columns, rows)},
         [issue("declarations", "key", 3, "declaration_id")])
    columns, rows = staff()
    rows[9]["unit"] = "U2"
    case(f"row_staff_key_repeated_{fmt.replace('.', '_')}", f"a unit repeated on the last record ({fmt})",
         {f"year=2024/staff.{fmt}": encode(fmt, columns, rows)},
         [issue("staff", "key", 10, "unit")])

# Several faults in one record, and faults in many records.
columns, rows = declarations()
rows[1]["flow"] = "XX"
rows[1]["customs_value"] = "-5"
case("row_two_faults_in_one_record", "two faults in one record: both are named",
     {"year=2024/declarations.csv": encode("csv", columns, rows)},
     [issue("declarations", "enum", 2, "flow"), issue("declarations", "min", 2, "customs_value")])

columns, rows = declarations(200)
for r in rows[:120]:
    r["channel"] = "blue"
case("rows_more_than_the_listed_hundred", "120 bad records of 200: the dataset is rejected, 100 listed and the rest counted",
     {"year=2024/declarations.csv": encode("csv", columns, rows)},
     [issue("declarations", "enum", i, "channel") for i in range(1, 101)]
     + [issue("declarations", "enum", None, None), issue("declarations", "max_invalid_row_fraction")],
     rejected=["declarations"])

# Other datasets' rules (CSV).
OTHER = [
    ("revenue_not_first_of_month", "revenue", "month,revenue_type,assessed,collected,arrears_end\n2024-01-01,vat,10,9,1\n2024-02-15,vat,10,9,1\n2024-03-01,vat,10,9,1\n",
     [issue("revenue", "first_of_month", 2, "month")], "a month that is not the first of a month"),
    ("revenue_other_year", "revenue", "month,revenue_type,assessed,collected,arrears_end\n2024-01-01,vat,10,9,1\n2023-02-01,vat,10,9,1\n2024-03-01,vat,10,9,1\n",
     [issue("revenue", "year", 2, "month")], "a month of another year"),
    ("revenue_type_unknown", "revenue", "month,revenue_type,assessed,collected,arrears_end\n2024-01-01,vat,10,9,1\n2024-02-01,tariff,10,9,1\n2024-03-01,vat,10,9,1\n",
     [issue("revenue", "enum", 2, "revenue_type")], "a revenue type that does not exist"),
    ("revenue_composite_key", "revenue", "month,revenue_type,assessed,collected,arrears_end\n2024-01-01,vat,10,9,1\n2024-02-01,vat,10,9,1\n2024-01-01,vat,11,9,1\n",
     [issue("revenue", "key", 3, "month, revenue_type")], "a month and type given twice"),
    ("revenue_date_words", "revenue", "month,revenue_type,assessed,collected,arrears_end\n2024-01-01,vat,10,9,1\nJanuary,vat,10,9,1\n2024-03-01,vat,10,9,1\n",
     [issue("revenue", "type", 2, "month")], "a date in words"),
    ("audits_closed_before_opened", "audits", "audit_id,opened_on,closed_on,irregularity,additional_revenue\nA1,2024-02-01,2024-03-01,false,0\nA2,2024-05-01,2024-04-01,true,10\nA3,2024-01-01,,,\n",
     [issue("audits", "not_before", 2, "closed_on")], "an audit closed before it was opened"),
    ("audits_irregularity_missing", "audits", "audit_id,opened_on,closed_on,irregularity,additional_revenue\nA1,2024-02-01,2024-03-01,false,0\nA2,2024-05-01,2024-06-01,,10\nA3,2024-01-01,,,\n",
     [issue("audits", "required_with", 2, "irregularity")], "a closed audit without its finding"),
    ("audits_opened_after_year", "audits", "audit_id,opened_on,closed_on,irregularity,additional_revenue\nA1,2024-02-01,2024-03-01,false,0\nA2,2025-01-02,,,\nA3,2024-01-01,,,\n",
     [issue("audits", "not_after_year_end", 2, "opened_on")], "an audit opened after the year"),
    ("audits_closed_outside_year", "audits", "audit_id,opened_on,closed_on,irregularity,additional_revenue\nA1,2024-02-01,2024-03-01,false,0\nA2,2023-05-01,2023-06-01,false,0\nA3,2024-01-01,,,\n",
     [issue("audits", "within_year", 2, "closed_on")], "an audit closed in another year"),
    ("seizures_quantity_negative", "seizures", "seizure_id,seized_on,category,quantity,unit,estimated_value\nS1,2024-01-05,drugs,1.5,kg,100\nS2,2024-01-06,drugs,-2,kg,100\nS3,2024-01-07,cash,1,other,100\n",
     [issue("seizures", "min", 2, "quantity")], "a negative quantity seized"),
    ("seizures_category_unknown", "seizures", "seizure_id,seized_on,category,quantity,unit,estimated_value\nS1,2024-01-05,drugs,1.5,kg,100\nS2,2024-01-06,gold,2,kg,100\nS3,2024-01-07,cash,1,other,100\n",
     [issue("seizures", "enum", 2, "category")], "a seizure category that does not exist"),
    ("info_requests_direction_unknown", "info_requests", "request_id,direction,sent_on,answered_on\nR1,sent,2024-01-01,2024-01-10\nR2,lost,2024-01-02,\nR3,received,2024-01-03,\n",
     [issue("info_requests", "enum", 2, "direction")], "a request direction that does not exist"),
    ("info_requests_answered_before_sent", "info_requests", "request_id,direction,sent_on,answered_on\nR1,sent,2024-01-01,2024-01-10\nR2,sent,2024-03-02,2024-03-01\nR3,received,2024-01-03,\n",
     [issue("info_requests", "not_before", 2, "answered_on")], "a request answered before it was sent"),
    ("aeo_revoked_before_granted", "aeo_operators", "operator_id,role,granted_on,revoked_on,sme\nO1,importer,2020-01-01,,true\nO2,exporter,2021-05-01,2021-04-01,false\nO3,broker,2019-01-01,,false\n",
     [issue("aeo_operators", "not_before", 2, "revoked_on")], "an operator revoked before it was granted"),
    ("aeo_role_unknown", "aeo_operators", "operator_id,role,granted_on,revoked_on,sme\nO1,importer,2020-01-01,,true\nO2,pirate,2021-05-01,,false\nO3,broker,2019-01-01,,false\n",
     [issue("aeo_operators", "enum", 2, "role")], "an operator role that does not exist"),
    ("controls_result_unknown", "controls", "control_id,controlled_on,target,selection,result\nC1,2024-01-01,drugs,random,no_finding\nC2,2024-01-02,drugs,random,maybe\nC3,2024-01-03,cash,risk_profile,seizure\n",
     [issue("controls", "enum", 2, "result")], "a control result that does not exist"),
    ("controls_other_year", "controls", "control_id,controlled_on,target,selection,result\nC1,2024-01-01,drugs,random,no_finding\nC2,2022-01-02,drugs,random,no_finding\nC3,2024-01-03,cash,risk_profile,seizure\n",
     [issue("controls", "year", 2, "controlled_on")], "a control of another year"),
]
for name, dataset, text, issues, about in OTHER:
    # Three records, one bad: above the corpus pipeline's max_invalid_row_fraction of 0.5? no.
    case(f"rule_{name}", about, {f"year=2024/{dataset}.csv": text.encode()}, issues)

# Headers and whole files, for CSV and CSV.gz.
D = csv_text(*declarations())
HEADER = D.split("\n", 1)[0]
BODY = D.split("\n", 1)[1]
REQUIRED_DECL = ["declaration_id", "flow", "lodged_at", "electronic", "standardized", "pre_arrival", "channel", "aeo", "ecommerce", "customs_value"]
FILE_FAULTS = [
    ("missing_required_column", HEADER.replace("flow,", "") + "\n" + "\n".join(
        ",".join(v for j, v in enumerate(line.split(",")) if j != 1) for line in BODY.strip().split("\n")) + "\n",
     [issue("declarations", "missing_column", None, "flow")], False, "a required column missing"),
    ("duplicate_column", HEADER + ",office\n" + "\n".join(l + ",X" for l in BODY.strip().split("\n")) + "\n",
     [issue("declarations", "duplicate_column")], False, "a column twice in the header"),
    ("extra_column", HEADER + ",comment\n" + "\n".join(l + ",hello" for l in BODY.strip().split("\n")) + "\n",
     [issue("declarations", "extra_column", None, "comment")], True, "a column the contract does not have (a warning)"),
    ("empty_file", "", [issue("declarations", "missing_header")], False, "an empty file"),
    ("blank_first_line", "\n" + D, [issue("declarations", "missing_header")], False, "a blank line before the header"),
    ("header_only", HEADER + "\n", [], True, "a header and no records"),
    ("byte_order_mark", "\ufeff" + D, [], True, "a UTF-8 byte-order mark before the header (accepted)"),
    ("crlf_lines", D.replace("\n", "\r\n"), [], True, "Windows line ends (accepted)"),
    ("no_final_newline", D.rstrip("\n"), [], True, "no line end after the last record (accepted)"),
    ("short_record", HEADER + "\n" + BODY.split("\n")[0] + "\nD2,IM\n", [issue("declarations", "unreadable")], False, "a record with too few fields"),
    ("long_record", HEADER + "\n" + BODY.split("\n")[0] + "\n" + BODY.split("\n")[1] + ",x,y\n", [issue("declarations", "unreadable")], False, "a record with too many fields"),
    ("unterminated_quote", HEADER + "\n" + BODY.split("\n")[0] + "\n\"D2,IM,2024-03-02T10:00:00Z\n", [issue("declarations", "unreadable")], False, "a quote that never closes"),
    ("semicolons", D.replace(",", ";"), [issue("declarations", "missing_column", None, c) for c in REQUIRED_DECL] + [issue("declarations", "extra_column", None, HEADER.replace(",", ";")[:120] + "\u2026")], False, "semicolons instead of commas: one long column name, cut to 120 characters in the issue"),
    ("header_with_spaces", HEADER.replace(",", ", ") + "\n" + BODY, [issue("declarations", "missing_column", None, c) for c in REQUIRED_DECL if c != "declaration_id"] + [issue("declarations", "extra_column", None, " " + c) for c in DECL_COLUMNS[1:]], False, "spaces after the commas of the header: names match exactly"),
    ("header_capitalized", HEADER.replace("flow", "Flow") + "\n" + BODY, [issue("declarations", "missing_column", None, "flow"), issue("declarations", "extra_column", None, "Flow")], False, "a column name in another case"),
    ("quoted_fields", "\n".join(",".join('"' + v + '"' for v in line.split(",")) for line in D.strip().split("\n")) + "\n", [], True, "every field quoted (accepted)"),
    ("quoted_newline_in_office", HEADER + "\n" + BODY.replace("OFF1", "\"OFF\n1\"", 1), [], True, "a line feed inside a quoted field (accepted)"),
]
for name, text, issues, accepted, about in FILE_FAULTS:
    for fmt in ["csv", "csv.gz"]:
        data = text.encode()
        if fmt == "csv.gz":
            data = gzip.compress(data, mtime=0)
        rejected = [] if accepted else ["declarations"]
        case(f"file_{name}_{fmt.replace('.', '_')}", f"{about} ({fmt})", {f"year=2024/declarations.{fmt}": data},
             issues if issues is not None else "REVIEW", rejected=rejected)

# Encodings.
latin = D.replace("OFF1", "BUREAU-\u00e9", 1).encode("latin-1")
case("encoding_latin1", "a Latin-1 byte in a record (not UTF-8)", {"year=2024/declarations.csv": latin},
     [issue("declarations", "unreadable")], rejected=["declarations"])
case("encoding_utf16", "a UTF-16 file", {"year=2024/declarations.csv": D.encode("utf-16")},
     [issue("declarations", "unreadable")], rejected=["declarations"])
case("encoding_utf8_accents", "accents and other scripts in text columns (accepted)",
     {"year=2024/declarations.csv": D.replace("OFF1", "Bureau-\u00e9\u4e2d\u0627", 3).encode()}, [])
case("encoding_nul_byte", "a NUL byte inside a text field",
     {"year=2024/declarations.csv": D.replace("OFF1", "OF\x00F1", 1).encode()}, [])
case("encoding_binary", "binary noise named .csv",
     {"year=2024/declarations.csv": bytes((i * 2654435761 >> 13) & 0xFF for i in range(4096))},
     [issue("declarations", "unreadable")], rejected=["declarations"])

# JSON lines.
J = jsonl_text(*declarations())
JSONL = [
    ("not_json", "this is not json\n", "unreadable", None, "plain text named .jsonl"),
    ("array_line", "[1, 2, 3]\n" + J, "unreadable", None, "a line holding an array"),
    # The line ends inside the object: the record is named (the parser would read on).
    ("truncated_object", J + '{"declaration_id": "D99", "flow": \n', "unreadable", 11, "a line cut in the middle of an object"),
    ("trailing_garbage", J.rstrip("\n") + " garbage\n", "unreadable", 10, "text after the last object"),
    ("nested_value", J.replace('"office": "OFF1"', '"office": {"a": 1}', 1), "unreadable", None, "an object where text is expected"),
    # Round 2: one object spread over many lines (pretty-printed) was read as one valid row.
    ("object_over_lines", J + '{\n' + ''.join(f'  "declaration_id": "D{99 + i}",\n' for i in range(2000)) + '  "flow": "IM"\n}\n',
     "unreadable", 11, "one object spread over 2,002 lines"),
    ("two_objects_on_a_line", J.rstrip("\n") + ' ' + J.splitlines()[0] + "\n", "unreadable", 10, "two objects on one line"),
]
for name, text, rule, record, about in JSONL:
    case(f"jsonl_{name}", about, {"year=2024/declarations.jsonl": text.encode()},
         [issue("declarations", rule, record)], rejected=["declarations"])
case("jsonl_blank_lines", "blank lines between objects (accepted)",
     {"year=2024/declarations.jsonl": J.replace("\n", "\n\n").encode()}, [])
case("jsonl_missing_key", "an object without a required key",
     {"year=2024/declarations.jsonl": J.replace('"flow": "EX", ', "", 1).encode()}, [issue("declarations", "required", 1, "flow")])
case("jsonl_extra_key", "an object with a key the contract does not have (ignored)",
     {"year=2024/declarations.jsonl": J.replace('"office": "OFF1"', '"office": "OFF1", "note": "x"', 1).encode()}, [])
case("jsonl_strings_for_numbers", "numbers and booleans written as strings (accepted)",
     {"year=2024/declarations.jsonl": jsonl_text(*declarations(), typed=False).encode()}, [])
case("jsonl_number_for_string", "a number where the key is text (read as its digits)",
     {"year=2024/declarations.jsonl": J.replace('"declaration_id": "D3"', '"declaration_id": 3', 1).encode()}, [])

# Gzip.
good = D.encode()
case("gzip_truncated", "a gzip file cut in the middle", {"year=2024/declarations.csv.gz": gzip.compress(good, mtime=0)[:60]},
     [issue("declarations", "unreadable")], rejected=["declarations"])
case("gzip_not_gzip", "plain CSV named .csv.gz", {"year=2024/declarations.csv.gz": good},
     [issue("declarations", "unreadable")], rejected=["declarations"])
case("gzip_two_members", "two gzip members one after the other (accepted: read as one file)",
     {"year=2024/declarations.csv.gz": gzip.compress(good[:len(HEADER) + 1], mtime=0) + gzip.compress(good[len(HEADER) + 1:], mtime=0)}, [])
case("gzip_empty", "a gzip file of nothing", {"year=2024/declarations.csv.gz": gzip.compress(b"", mtime=0)},
     [issue("declarations", "missing_header")], rejected=["declarations"])
case("gzip_over_decompressed_limit", "a small file that decompresses past limits.max_decompressed_bytes",
     {"year=2024/declarations.csv.gz": gzip.compress((HEADER + "\n" + BODY * 200).encode(), mtime=0)},
     [issue("declarations", "max_decompressed_bytes")], rejected=["declarations"],
     limits={"max_decompressed_bytes": "64KiB"})

# Limits on records and columns.
case("limit_long_record", "a record longer than limits.max_record_bytes",
     {"year=2024/declarations.csv": (HEADER + "\n" + BODY.split("\n")[0] + "\n" + BODY.split("\n")[1].replace("OFF1", "O" * 3000) + "\n").encode()},
     [issue("declarations", "max_record_bytes", 2)], rejected=["declarations"], limits={"max_record_bytes": "2KiB"})
case("limit_long_header", "a header longer than limits.max_record_bytes",
     {"year=2024/declarations.csv": (HEADER + "," + "x" * 3000 + "\n" + BODY).encode()},
     [issue("declarations", "max_record_bytes")], rejected=["declarations"], limits={"max_record_bytes": "2KiB"})
case("limit_long_jsonl_line", "a JSON line longer than limits.max_record_bytes",
     {"year=2024/declarations.jsonl": J.replace('"OFF1"', '"' + "O" * 3000 + '"', 1).encode()},
     [issue("declarations", "max_record_bytes", 1)], rejected=["declarations"], limits={"max_record_bytes": "2KiB"})
case("limit_long_quoted_record", "a record of many short lines inside quotes, longer than the limit",
     {"year=2024/declarations.csv": (HEADER + "\n" + BODY.replace("OFF1", '"' + "O\n" * 1500 + '"', 1)).encode()},
     [issue("declarations", "max_record_bytes", 1)], rejected=["declarations"], limits={"max_record_bytes": "2KiB"})
wide = ",".join(DECL_COLUMNS + [f"extra{i}" for i in range(1000)])
case("limit_many_columns", "a header with more columns than limits.max_columns",
     {"year=2024/declarations.csv": (wide + "\n").encode()},
     [issue("declarations", "max_columns")], rejected=["declarations"])
case("limit_many_columns_parquet", "a Parquet file with more columns than limits.max_columns",
     {"year=2024/staff.parquet": parquet_bytes(STAFF_COLUMNS + [f"extra{i}" for i in range(60)], staff()[1])},
     [issue("staff", "max_columns")], rejected=["staff"], limits={"max_columns": 50})

# Parquet.
P = parquet_bytes(*staff())
case("parquet_truncated", "a Parquet file cut in half", {"year=2024/staff.parquet": P[: len(P) // 2]},
     [issue("staff", "unreadable")], rejected=["staff"])
case("parquet_not_parquet", "CSV named .parquet", {"year=2024/staff.parquet": csv_text(*staff()).encode()},
     [issue("staff", "unreadable")], rejected=["staff"])
case("parquet_empty_file", "an empty file named .parquet", {"year=2024/staff.parquet": b""},
     [issue("staff", "unreadable")], rejected=["staff"])
case("parquet_missing_column", "a Parquet file without a required column",
     {"year=2024/staff.parquet": parquet_bytes([c for c in STAFF_COLUMNS if c != "headcount"], staff()[1])},
     [issue("staff", "missing_column", None, "headcount")], rejected=["staff"])
case("parquet_extra_column", "a Parquet file with a column the contract does not have",
     {"year=2024/staff.parquet": parquet_bytes(STAFF_COLUMNS + ["remark"], staff()[1])},
     [issue("staff", "extra_column", None, "remark")])
case("parquet_zero_rows", "a Parquet file with no rows", {"year=2024/staff.parquet": parquet_bytes(STAFF_COLUMNS, [])}, [])
t = pa.table({"unit": pa.array([f"U{i}" for i in range(3)]), "headcount": pa.array([1.5, 2.0, 3.0]),
              "female_headcount": pa.array([1, 1, 1]), "training_hours": pa.array([1.0, 2.0, 3.0]),
              "integrity_cases": pa.array([0, 0, 0])})
s = io.BytesIO(); pq.write_table(t, s)
case("parquet_float_for_int", "a Parquet float column where the contract wants integers", {"year=2024/staff.parquet": s.getvalue()},
     [issue("staff", "column_type", None, "headcount")], rejected=["staff"])
t = pa.table({"unit": pa.array([1, 2, 3]), "headcount": pa.array([1, 2, 3]),
              "female_headcount": pa.array([1, 1, 1]), "training_hours": pa.array([1.0, 2.0, 3.0]),
              "integrity_cases": pa.array([0, 0, 0])})
s = io.BytesIO(); pq.write_table(t, s)
case("parquet_int_for_text", "a Parquet integer column where the contract wants text (read as its digits)", {"year=2024/staff.parquet": s.getvalue()}, [])
t = pa.table({"unit": pa.array(["U1", "U2", None]), "headcount": pa.array([1, None, 3]),
              "female_headcount": pa.array([1, 1, 1]), "training_hours": pa.array([1.0, 2.0, 3.0]),
              "integrity_cases": pa.array([0, 0, 0])})
s = io.BytesIO(); pq.write_table(t, s)
case("parquet_native_nulls", "nulls in required native columns", {"year=2024/staff.parquet": s.getvalue()},
     [issue("staff", "required", 2, "headcount"), issue("staff", "required", 3, "unit"), issue("staff", "max_invalid_row_fraction")], rejected=["staff"])

# Manifests.
M_OK = "member: ${member}\nyear: 2024\n"
S = csv_text(*staff()).encode()
MANIFESTS = [
    ("not_yaml", "member: [unclosed\n", "manifest", "a manifest that is not YAML"),
    ("other_member", "member: QQ\nyear: 2024\n", "manifest", "a manifest for another member"),
    ("other_year", "member: ${member}\nyear: 2023\n", "manifest", "a manifest for another year"),
    ("unknown_key", M_OK + "colour: blue\n", "manifest", "a manifest with an unknown key"),
    ("deep_nesting", M_OK + "x: " + "[" * 2000 + "]" * 2000 + "\n", "manifest", "a manifest of deeply nested brackets"),
    ("deep_dashes", M_OK + "x:\n" + "- " * 3000 + "1\n", "manifest", "a manifest of deeply nested lists"),
    # Round 2: a quote inside a plain scalar is a literal; the depth pre-check took it for a
    # quote and let the brackets after it through.
    ("deep_nesting_after_a_quote", M_OK + "x: [a'b, " + "[" * 2000 + "]" * 2000 + "]\n", "manifest",
     "nested brackets after a quote inside a plain scalar"),
    ("latin1", None, "manifest", "a manifest that is not UTF-8"),
    ("empty", "", "manifest", "an empty manifest"),
    ("too_large", M_OK + "# " + "x" * 70000 + "\n", "max_manifest_bytes", "a manifest past limits.max_manifest_bytes"),
]
for name, text, rule, about in MANIFESTS:
    data = ("member: ${member}\nyear: 2024\nnote: caf\u00e9\n".encode("latin-1") if text is None else text.encode())
    case(f"manifest_{name}", about, {"year=2024/manifest.yaml": data, "year=2024/staff.csv": S},
         [issue(None, rule)], accepted=False)

# Names and layouts.
LAYOUTS = [
    ("file_outside_year", {"staff.csv": S, "year=2024/staff.csv": S}, [issue(None, "unknown_file")], "a dataset file outside any year folder"),
    ("folder_inside_year", {"year=2024/old/staff.csv": S, "year=2024/staff.csv": S}, [issue(None, "unknown_file")], "a folder inside a submission"),
    ("bad_year_folder", {"year=24/staff.csv": S, "year=2024/staff.csv": S}, [issue(None, "bad_folder")], "a year folder with two digits"),
    ("unknown_name", {"year=2024/staff_2024.csv": S}, [issue(None, "unknown_file")], "a file whose name is not a dataset"),
    ("upper_case_extension", {"year=2024/staff.CSV": S}, [issue(None, "unknown_file")], "an extension in capitals"),
    ("hidden_file", {"year=2024/.DS_Store": b"\x00\x01", "year=2024/staff.csv": S}, [issue(None, "unknown_file")], "a hidden file beside the data"),
    ("two_files_one_dataset", {"year=2024/staff.csv": S, "year=2024/staff.jsonl": jsonl_text(*staff()).encode()}, [issue("staff", "ambiguous")], "two files for one dataset"),
    ("percent_in_name", {"year=2024/staff%20.csv": S, "year=2024/staff.csv": S}, [issue(None, "unknown_file")], "a percent sign in a file name"),
    ("spaces_in_name", {"year=2024/staff copy.csv": S, "year=2024/staff.csv": S}, [issue(None, "unknown_file")], "a space in a file name"),
    ("unicode_name", {"year=2024/donn\u00e9es.csv": S, "year=2024/staff.csv": S}, [issue(None, "unknown_file")], "an accented file name"),
]
for name, files, issues, about in LAYOUTS:
    rejected = ["staff"] if name == "two_files_one_dataset" else []
    case(f"layout_{name}", about, files, issues, rejected=rejected)

# Round 2: Parquet internals, limiters that agree with their parsers, text in messages.
def thrift_varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def thrift_i32(field_delta, value):
    return bytes([(field_delta << 4) | 5]) + thrift_varint((value << 1) ^ (value >> 31))


def thrift_string(field_delta, text):
    data = text.encode()
    return bytes([(field_delta << 4) | 8]) + thrift_varint(len(data)) + data


def deep_schema_parquet(levels):
    """A Parquet file of no rows whose one column sits inside `levels` single-child groups:
    the footer written by hand in Thrift's compact protocol (no writer makes this)."""
    def element(name, children=None, physical=None, root=False):
        out = b""
        last = 0
        if physical is not None:
            out += thrift_i32(1 - last, physical); last = 1
        if not root:
            out += thrift_i32(3 - last, 1); last = 3                # OPTIONAL
        out += thrift_string(4 - last, name); last = 4
        if children is not None:
            out += thrift_i32(5 - last, children)
        return out + b"\x00"
    elements = [element("schema", 1, root=True)] + [element(f"g{i}", 1) for i in range(levels)] + [element("unit", None, 6)]
    footer = thrift_i32(1, 1)                                     # version
    footer += bytes([0x19, 0xFC]) + thrift_varint(len(elements))  # schema: list<struct>
    footer += b"".join(elements)
    footer += bytes([0x16]) + thrift_varint(0)                    # num_rows: i64 0
    footer += bytes([0x19, 0x0C])                                 # row_groups: empty list
    footer += b"\x00"
    return b"PAR1" + footer + len(footer).to_bytes(4, "little") + b"PAR1"


case("parquet_deep_schema", "a 49 KB footer nesting one column in 5,000 single-child groups (it overflowed the stack)",
     {"year=2024/staff.parquet": deep_schema_parquet(5000)},
     [issue("staff", "max_nesting")], rejected=["staff"])
case("parquet_shallow_hand_written", "the same hand-written footer with 3 groups: read by the parquet crate (its one column g0 is a group)",
     {"year=2024/staff.parquet": deep_schema_parquet(3)},
     [issue("staff", "extra_column", None, "g0")] + [issue("staff", "missing_column", None, c)
      for c in ["unit", "headcount", "female_headcount", "training_hours", "integrity_cases"]],
     rejected=["staff"])


def declarations_table(n, office=None, **overrides):
    import datetime
    start = datetime.datetime(2024, 3, 1, 10, tzinfo=datetime.timezone.utc)
    lodged = [start + datetime.timedelta(minutes=i) for i in range(n)]
    columns = {
        "declaration_id": pa.array([f"D{i}" for i in range(1, n + 1)]),
        "flow": pa.array(["IM"] * n),
        "lodged_at": pa.array(lodged, type=pa.timestamp("us", tz="UTC")),
        "released_at": pa.array([t + datetime.timedelta(hours=3) for t in lodged], type=pa.timestamp("us", tz="UTC")),
        "electronic": pa.array([True] * n), "standardized": pa.array([False] * n),
        "pre_arrival": pa.array([True] * n), "channel": pa.array(["green"] * n),
        "aeo": pa.array([False] * n), "ecommerce": pa.array([False] * n),
        "customs_value": pa.array([100.5] * n), "duty_assessed": pa.array([10.0] * n),
        "office": pa.array([office or "OFF1"] * n), "transport_mode": pa.array(["sea"] * n),
    }
    columns.update(overrides)
    return pa.table(columns)


def parquet_of(table, **options):
    sink = io.BytesIO()
    pq.write_table(table, sink, **options)
    return sink.getvalue()


# One 20 KB value in the dictionary, repeated by every row: each batch once expanded it 65,536
# times (a 4.7 KB file, 1.4 GB). Now the rows share it; the file's decoded total is bounded.
case("parquet_dictionary_amplification", "one 20 KB dictionary value repeated by 4,000 rows, past max_decompressed_bytes in all",
     {"year=2024/declarations.parquet": parquet_of(declarations_table(4000, office="O" * 20000), compression="zstd")},
     [issue("declarations", "max_decompressed_bytes")], rejected=["declarations"],
     limits={"max_decompressed_bytes": "32MiB"})
flows = ["IM"] * 600
flows[449] = "XX"
case("parquet_long_values_in_small_batches", "600 rows of 20 KB values read in slices of 1 MiB: record numbers kept (bad flow at 450)",
     {"year=2024/declarations.parquet": parquet_of(declarations_table(600, office="O" * 20000, flow=pa.array(flows)), compression="zstd")},
     [issue("declarations", "enum", 450, "flow")], limits={"max_batch_bytes": "1MiB"})
case("parquet_page_past_batch_limit", "one 8 MB value in a zstd page of a small file: the page header's claim is refused",
     {"year=2024/declarations.parquet": parquet_of(declarations_table(1, office="O" * (8 << 20)), compression="zstd")},
     [issue("declarations", "max_batch_bytes")], rejected=["declarations"], limits={"max_batch_bytes": "4MiB", "max_record_bytes": "16MiB"})
case("parquet_record_past_limit", "a Parquet row of 3 MB past max_record_bytes, named by its record",
     {"year=2024/declarations.parquet": parquet_of(declarations_table(5).set_column(
         12, "office", pa.array(["OFF1", "OFF1", "O" * (3 << 20), "OFF1", "OFF1"])), compression="zstd")},
     [issue("declarations", "max_record_bytes", 3)], rejected=["declarations"])
case("parquet_footer_past_limit", "200 row groups of one row: a footer past max_footer_bytes",
     {"year=2024/staff.parquet": parquet_of(pa.table({c: pa.array([str(10 + i) if c != "unit" else f"U{i}" for i in range(200)]) for c in STAFF_COLUMNS}), row_group_size=1)},
     [issue("staff", "max_footer_bytes")], rejected=["staff"], limits={"max_footer_bytes": "16KiB"})
case("parquet_nested_column", "a contract column stored as a struct",
     {"year=2024/declarations.parquet": parquet_of(declarations_table(3, office=None).set_column(12, "office", pa.array([{"a": "x"}] * 3)))},
     [issue("declarations", "column_type")], rejected=["declarations"])
# INT96 (Spark, Impala, Hive): 9999-12-31, the common "no date", read through nanoseconds as
# 1816-03-29 and so before its lodging; read at microseconds it is 9999-12-31.
import datetime as _dt
far = _dt.datetime(9999, 12, 31, tzinfo=_dt.timezone.utc)
t = declarations_table(10)
t = t.set_column(3, "released_at", pa.array([far] + [None] * 9, type=pa.timestamp("us", tz="UTC")))
case("parquet_int96_far_date", "an INT96 release date of 9999-12-31 (it read as 1816-03-29)",
     {"year=2024/declarations.parquet": parquet_of(t, use_deprecated_int96_timestamps=True)}, [])
t = declarations_table(10)
t = t.set_column(3, "released_at", pa.array([2 ** 62] + [None] * 9, type=pa.timestamp("ms", tz="UTC")))
case("parquet_timestamp_out_of_range", "a timestamp of 2^62 milliseconds, past what microseconds in 64 bits hold",
     {"year=2024/declarations.parquet": parquet_of(t)},
     [issue("declarations", "type", 1, "released_at")])

# CSV: a bare quote inside an unquoted field is a literal to the parser; the limiter once took
# it for an opening quote, so the next real quoted field's lines looked like short records
# while the parser read them as one long field.
body = D.splitlines()
body[2] = body[2].replace("OFF1", 'OF"F1', 1)
body[3] = body[3].replace("OFF1", '"' + "line\n" * 2000 + '"', 1)
case("csv_bare_quote_hides_a_long_field", "a bare quote in one record, then a quoted field of 2,000 lines (10 KB) in the next",
     {"year=2024/declarations.csv": ("\n".join(body) + "\n").encode()},
     [issue("declarations", "max_record_bytes", 3)], rejected=["declarations"], limits={"max_record_bytes": "2KiB"})
case("file_cr_line_ends_csv", "classic Mac line ends (CR alone): read as records, as the parser reads them (accepted)",
     {"year=2024/declarations.csv": D.replace("\n", "\r").encode()}, [])
# Bidi overrides and isolates in a column name and a value: escaped in every message.
case("encoding_bidi_controls", "U+202E in a column name and U+2066 in a value",
     {"year=2024/declarations.csv": D.replace("transport_mode", "transport_mode,note\u202etxt", 1)
        .replace(",sea\n", ",sea,x\n").replace(",IM,", ",IM\u2066,", 1).encode()},
     [issue("declarations", "extra_column", None, "note\\u202etxt"), issue("declarations", "enum", 3, "flow")])

# Round 3: what a file says about its own layout, a file read as it was found, keys given
# twice, byte-order marks, lexical edges, containers under a text file's name.

# A Parquet footer decoded and re-encoded in Thrift's compact protocol, to make it claim
# what no writer would.
T_TRUE, T_FALSE, T_BYTE, T_I16, T_I32, T_I64, T_DOUBLE, T_BINARY, T_LIST, T_SET, T_MAP, T_STRUCT = range(1, 13)


class ThriftReader:
    def __init__(self, data):
        self.data, self.at = data, 0

    def byte(self):
        self.at += 1
        return self.data[self.at - 1]

    def varint(self):
        n, shift = 0, 0
        while True:
            b = self.byte()
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return n

    def zigzag(self):
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def value(self, kind):
        if kind in (T_TRUE, T_FALSE):
            return kind == T_TRUE
        if kind == T_BYTE:
            return self.byte()
        if kind in (T_I16, T_I32, T_I64):
            return self.zigzag()
        if kind in (T_DOUBLE, T_BINARY):
            n = 8 if kind == T_DOUBLE else self.varint()
            self.at += n
            return self.data[self.at - n:self.at]
        if kind in (T_LIST, T_SET):
            head = self.byte()
            size, elem = head >> 4, head & 0x0F
            if size == 15:
                size = self.varint()
            if elem in (T_TRUE, T_FALSE):
                return (elem, [self.byte() == 1 for _ in range(size)])
            return (elem, [self.value(elem) for _ in range(size)])
        if kind == T_STRUCT:
            fields, last = [], 0
            while True:
                b = self.byte()
                if b == 0:
                    return fields
                kind_, delta = b & 0x0F, b >> 4
                last = last + delta if delta else self.zigzag()
                fields.append([last, kind_, self.value(kind_)])
        raise ValueError(f"Thrift type {kind}")


def thrift_encode(kind, value):
    zig = lambda n: thrift_varint((n << 1) ^ (n >> 63))
    if kind in (T_TRUE, T_FALSE):
        return b""
    if kind == T_BYTE:
        return bytes([value])
    if kind in (T_I16, T_I32, T_I64):
        return zig(value)
    if kind == T_DOUBLE:
        return value
    if kind == T_BINARY:
        return thrift_varint(len(value)) + value
    if kind in (T_LIST, T_SET):
        elem, items = value
        head = bytes([(min(len(items), 15) << 4) | elem]) + (thrift_varint(len(items)) if len(items) >= 15 else b"")
        if elem in (T_TRUE, T_FALSE):
            return head + bytes(1 if v else 2 for v in items)
        return head + b"".join(thrift_encode(elem, v) for v in items)
    out, last = bytearray(), 0
    for fid, k, v in value:
        if k in (T_TRUE, T_FALSE):
            k = T_TRUE if v else T_FALSE
        out += bytes([((fid - last) << 4) | k]) if 0 < fid - last <= 15 else bytes([k]) + zig(fid)
        out += thrift_encode(k, v)
        last = fid
    return bytes(out) + b"\x00"


def with_chunk_claims(data, **claims):
    """A Parquet file whose first column chunk claims other values: total_compressed_size,
    data_page_offset, dictionary_page_offset."""
    n = int.from_bytes(data[-8:-4], "little")
    start = len(data) - 8 - n
    meta = ThriftReader(data[start:-8]).value(T_STRUCT)
    field = lambda struct, fid: next(f for f in struct if f[0] == fid)
    chunk = field(field(field(meta, 4)[2][1][0], 1)[2][1][0], 3)[2]
    ids = {"total_compressed_size": 7, "data_page_offset": 9, "dictionary_page_offset": 11}
    for name, value in claims.items():
        field(chunk, ids[name])[2] = value
    footer = thrift_encode(T_STRUCT, meta)
    return data[:start] + footer + len(footer).to_bytes(4, "little") + b"PAR1"


PQ = parquet_of(declarations_table(10))
case("parquet_chunk_claims_a_terabyte", "a 3 KB file whose column chunk claims 2^40 bytes (once a 2^40-byte read: 23.6 GB, the process killed)",
     {"year=2024/declarations.parquet": with_chunk_claims(PQ, total_compressed_size=1 << 40)},
     [issue("declarations", "unreadable")], rejected=["declarations"])
case("parquet_negative_chunk_size", "a column chunk of -5 bytes (a panic in the parquet crate ended the run)",
     {"year=2024/declarations.parquet": with_chunk_claims(PQ, total_compressed_size=-5)},
     [issue("declarations", "unreadable")], rejected=["declarations"])
case("parquet_chunk_offset_past_end", "a column chunk that starts past the file's end (once a store fault, read again by every run)",
     {"year=2024/declarations.parquet": with_chunk_claims(PQ, data_page_offset=10 ** 9, dictionary_page_offset=10 ** 9)},
     [issue("declarations", "unreadable")], rejected=["declarations"])
case("parquet_row_group_past_limit", "a row group whose read columns claim more than max_row_group_bytes",
     {"year=2024/declarations.parquet": PQ},
     [issue("declarations", "max_row_group_bytes")], rejected=["declarations"], limits={"max_row_group_bytes": "1KiB"})

# Batches cut by bytes: a bad value late in a file read in batches of about 1 KiB keeps its
# record number, in every text format.
cols, rows = declarations(60)
rows[47]["flow"] = "XX"
for fmt in ["csv", "csv.gz", "jsonl"]:
    case(f"batches_cut_by_bytes_{fmt.replace('.', '_')}", f"60 records read in batches of about 1 KiB: the bad flow of record 48 keeps its number ({fmt})",
         {f"year=2024/declarations.{fmt}": encode(fmt, cols, rows)},
         [issue("declarations", "enum", 48, "flow")], limits={"max_batch_bytes": "2KiB"})

# Keys given twice.
sc, sr = staff()
js = jsonl_text(sc, sr).splitlines()
twice = js[:]
twice[2] = twice[2][:-1] + ', "headcount": 99999}'
case("jsonl_key_given_twice", "a JSON object with headcount twice (the last value was taken: 38.8 % became 0.007 %)",
     {"year=2024/staff.jsonl": ("\n".join(twice) + "\n").encode()},
     [issue("staff", "duplicate_column", 3, "headcount")], rejected=["staff"])
escaped = js[:]
escaped[4] = escaped[4][:-1] + ', "head\\u0063ount": 99999}'
case("jsonl_key_given_twice_escaped", "the same key twice, once written with an escape (head\\u0063ount)",
     {"year=2024/staff.jsonl": ("\n".join(escaped) + "\n").encode()},
     [issue("staff", "duplicate_column", 5, "headcount")], rejected=["staff"])
nested = js[:]
nested[1] = nested[1][:-1] + ', "note": {"a": 1, "a": 2}}'
case("jsonl_nested_keys_repeat_across_objects", "an ignored nested object may repeat its own keys: only a record's own keys count",
     {"year=2024/staff.jsonl": ("\n".join(nested) + "\n").encode()}, [])
M_TWICE = [
    ("disclosure_override_twice", "member: ${member}\nyear: 2024\ndisclosure:\n  default: wco\n  overrides:\n    od.female_staff_share: secretariat\n    od.female_staff_share: public\n",
     "a KPI's disclosure override given twice, secretariat then public (the public level was published)"),
    ("top_level_key_twice", "member: ${member}\nyear: 2024\nyear: 2024\n", "the year given twice"),
    ("flow_mapping_key_twice", "member: ${member}\nyear: 2024\ndisclosure: {default: wco, default: public}\n", "a key twice in a flow mapping"),
]
for name, text, about in M_TWICE:
    case(f"manifest_{name}", about, {"year=2024/manifest.yaml": text.encode(), "year=2024/staff.csv": S},
         [issue(None, "manifest")], accepted=False)

# Byte-order marks (Windows Notepad) and CR LF.
case("manifest_byte_order_mark_crlf", "a manifest saved by Windows Notepad: a byte-order mark and CR LF line ends (accepted)",
     {"year=2024/manifest.yaml": b"\xef\xbb\xbfmember: ${member}\r\nyear: 2024\r\n", "year=2024/staff.csv": S}, [])
case("jsonl_byte_order_mark", "a JSON-lines file that starts with a byte-order mark (accepted)",
     {"year=2024/staff.jsonl": b"\xef\xbb\xbf" + jsonl_text(sc, sr).encode()}, [])

# Lexical edges, as docs/running.md decides them.
cols, rows = declarations(10)
leap = [dict(r) for r in rows]
leap[9]["lodged_at"], leap[9]["released_at"] = "2024-12-31T23:59:60Z", ""
case("lexical_leap_second", "a lodging at the leap second 2024-12-31T23:59:60Z: read in its own minute, so in 2024 (it fell in 2025)",
     {"year=2024/declarations.csv": csv_text(cols, leap).encode()}, [])
dated = [dict(r) for r in rows]
dated[1]["lodged_at"] = "2024-03-02"
case("lexical_date_in_timestamp_column", "a date without a time in a timestamp column (it was read as midnight)",
     {"year=2024/declarations.csv": csv_text(cols, dated).encode()}, [issue("declarations", "type", 2, "lodged_at")])
padded = [dict(r) for r in rows]
padded[2]["customs_value"], padded[3]["duty_assessed"] = " 103.5", "10 "
case("lexical_padded_numbers", "numbers padded with spaces, as fixed-width exports write them (accepted: a documented rule)",
     {"year=2024/declarations.csv": csv_text(cols, padded).encode()}, [])
A = "operator_id,role,granted_on,revoked_on,sme\nO1,importer,2020-01-01,,true\nO2,exporter,2021-05-05,,false\nO3,broker,2022-02-02,2023-03-03,true\nO4,carrier,2019-07-07,,false\n"
for name, value, about in [("timestamp_in_date_column", "2021-05-05T10:00:00Z", "a timestamp in a date column (its time was dropped)"),
                           ("compact_date", "20210505", "a date written 20210505 (it was read as a date)"),
                           ("date_without_zeros", "2021-5-5", "a date written 2021-5-5 (it was read as a date)")]:
    case(f"lexical_{name}", about, {"year=2024/aeo_operators.csv": A.replace("2021-05-05", value).encode()},
         [issue("aeo_operators", "type", 2, "granted_on")])

# Containers under a text file's name: named as such, not read as text.
D10 = csv_text(*declarations(10)).encode()
tar = io.BytesIO()
with tarfile.open(fileobj=tar, mode="w", format=tarfile.USTAR_FORMAT) as t:
    info = tarfile.TarInfo("declarations.csv")
    info.size = len(D10)
    info.mtime = 0
    t.addfile(info, io.BytesIO(D10))
tar = io.BytesIO(gzip.compress(tar.getvalue(), mtime=0))
zipped = io.BytesIO()
with zipfile.ZipFile(zipped, "w") as z:
    z.writestr(zipfile.ZipInfo("declarations.csv", date_time=(2024, 1, 1, 0, 0, 0)), D10)
CONTAINERS = [
    ("tar_gz_as_csv_gz", "declarations.csv.gz", tar.getvalue(), "a tar.gz archive named .csv.gz (its header's NUL bytes were shown as a column name)"),
    ("zip_as_csv", "declarations.csv", zipped.getvalue(), "a ZIP archive named .csv"),
    ("gzip_as_csv", "declarations.csv", gzip.compress(D10, mtime=0), "a gzip-compressed file named .csv"),
    ("parquet_as_jsonl", "declarations.jsonl", PQ, "a Parquet file named .jsonl"),
]
for name, file, data, about in CONTAINERS:
    case(f"container_{name}", about, {f"year=2024/{file}": data}, [issue("declarations", "unreadable")], rejected=["declarations"])

# Made by the test: what git cannot hold, or should not.
GENERATED = [
    ("symlink_file", "a dataset file that is a symbolic link to a file outside the source", [issue(None, "symlink")]),
    ("symlink_folder", "a year folder that is a symbolic link", [issue(None, "symlink")]),
    ("newline_in_name", "a file name with a line feed beside good files", [issue(None, "bad_name")]),
    ("not_utf8_name", "a file name that is not UTF-8", [issue(None, "bad_name")]),
    ("fifo", "a named pipe called staff.csv", [issue(None, "not_a_file")]),
    ("gzip_of_zeros", "a gzip stream of 10 GB of zeros (one line without end)", [issue("declarations", "max_record_bytes")]),
    ("two_million_columns", "a header of two million columns under a raised record limit", [issue("declarations", "max_columns")]),
    ("huge_line", "a 100 MB line without a newline", [issue("declarations", "max_record_bytes")]),
    ("parquet_chunk_claim_in_sparse_file", "a column chunk claiming 512 GiB inside a sparse file of 1 TiB (it was fetched: the process reached 6 GB and more)",
     [issue("declarations", "max_row_group_bytes")]),
    ("parquet_footer_claim_in_sparse_file", "a footer length of 4 GiB in a sparse file of 5 GiB", [issue("declarations", "max_footer_bytes")]),
    ("growing_file", "a staff file that grows while the run reads it (it was read to its new end)", [issue("staff", "changed_while_read")]),
]
for name, about, issues in GENERATED:
    rejected = [issues[0]["dataset"]] if issues[0]["dataset"] else []
    accepted = name != "symlink_folder"  # the year folder is not read: no submission
    limits = {"max_record_bytes": "32MiB"} if name == "two_million_columns" else None
    case(f"generated_{name}", about, {}, issues, accepted=accepted, rejected=rejected, generate=name, limits=limits)


def yaml_value(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    return json.dumps(v, ensure_ascii=False)


def write():
    if os.path.isdir(ROOT):
        shutil.rmtree(ROOT)
    for name, c in sorted(CASES.items()):
        folder = os.path.join(ROOT, name)
        os.makedirs(folder)
        for rel, data in c["files"].items():
            path = os.path.join(folder, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)
        lines = [f"about: {json.dumps(c['about'], ensure_ascii=False)}", "exit: 0",
                 f"accepted: {yaml_value(c['accepted'])}",
                 "rejected: [" + ", ".join(c["rejected"]) + "]"]
        if c["limits"]:
            lines.append("limits: {" + ", ".join(f"{k}: {yaml_value(v)}" for k, v in c["limits"].items()) + "}")
        if c["generate"]:
            lines.append(f"generate: {c['generate']}")
        if c["issues"] == "REVIEW":
            lines.append("issues: REVIEW")
        elif not c["issues"]:
            lines.append("issues: []")
        else:
            lines.append("issues:")
            for i in c["issues"]:
                fields = ", ".join(f"{k}: {yaml_value(i[k])}" for k in ["dataset", "rule", "record", "column"] if i[k] is not None)
                lines.append(f"  - {{{fields}}}")
        with open(os.path.join(folder, "expected.yaml"), "w") as f:
            f.write("\n".join(lines) + "\n")
    print(f"{len(CASES)} cases in {ROOT}")


write()
