"""The data contract: every column of the three cohort tables, in one place.

This module is the single source of truth for the cohort format. The data
dictionary (``data/DATA_DICTIONARY.md``) is generated from it
(``python -m analysis.data.schema``) and a test checks the committed copy is current;
the validator (:mod:`analysis.data.validate`) enforces it.

A cohort is a folder (or an Excel workbook) holding three tables:

``patients``
    one row per patient: identifier, baseline characteristics (Table 1),
    treatment, and the dates that define PFS, OS and follow-up.
``assessments``
    one row per patient per on-treatment tumour assessment (RECIST 1.1).
``adverse_events``
    one row per patient per adverse event (CTCAE v5.0 term and grade).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TABLES = ("patients", "assessments", "adverse_events")


@dataclass(frozen=True)
class Column:
    """Specification of one column of a cohort table."""

    name: str
    kind: str  # "id", "int", "float", "category", "date", "text"
    description: str
    required: bool = True  # the column must be present
    nullable: bool = False  # cells may be empty
    categories: tuple[Any, ...] | None = None  # allowed values (codes as stored)
    labels: dict[Any, str] | None = None  # code -> label shown in the report
    min: float | None = None
    max: float | None = None
    unit: str | None = None
    identifier: bool = False  # never shown in any output
    extra: dict[str, Any] = field(default_factory=dict)


YES_NO = ("yes", "no")
YES_NO_LABELS = {"yes": "Yes", "no": "No"}

PATIENTS: tuple[Column, ...] = (
    Column("patient_id", "id", "De-identified patient identifier, unique in the table.", identifier=True),
    Column("age", "int", "Age at the start of anlotinib plus ICI.", min=18, max=100, unit="years"),
    Column("sex", "category", "Sex.", categories=("male", "female"), labels={"male": "Male", "female": "Female"}),
    Column("ecog", "int", "ECOG performance status at the start of treatment.", categories=(0, 1, 2, 3, 4), min=0, max=4),
    Column("stage", "category", "Stage (VALG) at the start of treatment.", categories=("extensive", "limited"),
           labels={"extensive": "Extensive stage", "limited": "Limited stage"}),
    Column("smoking", "category", "Smoking history.", categories=("never", "former", "current"),
           labels={"never": "Non-smoker", "former": "Former smoker", "current": "Current smoker"}),
    Column("prior_lines", "int", "Number of previous lines of systemic treatment (1 = first-line only).", min=1, max=10),
    Column("platinum_response", "category", "Response to previous platinum-based chemotherapy "
           "(resistant = progression within 6 months of its end).", categories=("sensitive", "resistant"),
           labels={"sensitive": "Platinum-sensitive", "resistant": "Platinum-resistant"}),
    Column("interim_systemic_therapy", "category", "Other systemic treatment given between the previous ICI line "
           "and this one.", categories=YES_NO, labels=YES_NO_LABELS),
    Column("brain_metastasis", "category", "Stable brain metastasis at baseline.", categories=YES_NO,
           labels={"yes": "Present", "no": "Absent"}),
    Column("prior_ici_class", "category", "Class of the previous immune checkpoint inhibitor.",
           categories=("pd1", "pdl1"), labels={"pd1": "PD-1 inhibitor", "pdl1": "PD-L1 inhibitor"}),
    Column("prior_ici_failure", "category", "Reason the previous ICI treatment failed.",
           categories=("progression", "intolerance"), labels={"progression": "Progression", "intolerance": "Intolerance"}),
    Column("radiotherapy", "category", "Localised radiotherapy during the treatment course.", categories=YES_NO,
           labels=YES_NO_LABELS),
    Column("anlotinib_dose_mg", "int", "Starting dose of anlotinib, once daily, days 1-14 of 21: any whole "
           "number of mg from 1 to 100; the paper's 8, 10 and 12 are the usual doses, another is accepted with "
           "the warning dose_unusual; doses are ordered numerically (trend test, Cox model per mg).",
           min=1, max=100, unit="mg", extra={"usual": (8, 10, 12)}),
    Column("ici_agent", "category", "Immune checkpoint inhibitor given with anlotinib (rechallenge). Any text: "
           "the names below are known labels; another name is kept as written (warning category_unlisted).",
           extra={"open": True, "what": "ICI agents"},
           categories=("tislelizumab", "serplulimab", "atezolizumab", "adebrelimab", "durvalumab", "toripalimab",
                       "sintilimab", "camrelizumab", "pembrolizumab", "nivolumab", "benmelstobart"),
           labels={"tislelizumab": "Tislelizumab", "serplulimab": "Serplulimab", "atezolizumab": "Atezolizumab",
                   "adebrelimab": "Adebrelimab", "durvalumab": "Durvalumab", "toripalimab": "Toripalimab",
                   "sintilimab": "Sintilimab", "camrelizumab": "Camrelizumab", "pembrolizumab": "Pembrolizumab",
                   "nivolumab": "Nivolumab", "benmelstobart": "Benmelstobart"}),
    Column("baseline_sum_mm", "float", "Sum of the longest diameters of the target lesions (short axis for nodes) "
           "at the baseline scan (RECIST 1.1).", nullable=True, min=0, max=1000, unit="mm"),
    Column("treatment_start_date", "date", "First day of anlotinib plus ICI."),
    Column("progression_date", "date", "Date of the first disease progression (RECIST 1.1 or clinical); "
           "empty if none observed.", nullable=True),
    Column("death_date", "date", "Date of death from any cause; empty if alive at last contact.", nullable=True),
    Column("last_contact_date", "date", "Date the patient was last known to be alive (or date of death)."),
    Column("data_cutoff_date", "date", "Data cutoff date of the analysis (the same for every patient)."),
    Column("on_treatment_at_cutoff", "category", "Still receiving anlotinib plus ICI at the data cutoff.",
           categories=YES_NO, labels=YES_NO_LABELS),
)

ASSESSMENTS: tuple[Column, ...] = (
    Column("patient_id", "id", "Patient identifier (must exist in the patients table).", identifier=True),
    Column("assessment_date", "date", "Date of the on-treatment CT/MRI assessment (after treatment start)."),
    Column("sum_diameters_mm", "float", "Sum of the diameters of the target lesions at this assessment.",
           nullable=True, min=0, max=1000, unit="mm"),
    Column("new_lesions", "category", "New lesions found at this assessment.", categories=YES_NO, labels=YES_NO_LABELS),
    Column("overall_response", "category", "RECIST 1.1 overall response at this assessment.",
           categories=("CR", "PR", "SD", "PD", "NE"),
           labels={"CR": "Complete response", "PR": "Partial response", "SD": "Stable disease",
                   "PD": "Progressive disease", "NE": "Not evaluable"}),
    Column("response_override", "category", "yes if the investigator's response deliberately departs from the "
           "RECIST 1.1 size rules (e.g. clinical progression); documents the exception.",
           required=False, nullable=True, categories=YES_NO, labels=YES_NO_LABELS),
)

ADVERSE_EVENTS: tuple[Column, ...] = (
    Column("patient_id", "id", "Patient identifier (must exist in the patients table).", identifier=True),
    Column("ae_term", "category", "Adverse event category as reported in Table 3 (CTCAE v5.0 terms grouped). "
           "Any text: the terms below are known labels; another term is kept as written (warning "
           "category_unlisted).", extra={"open": True, "what": "adverse-event terms"},
           categories=("fatigue", "nausea_vomiting", "hypertension", "hematologic_toxicity",
                       "liver_function_abnormality", "anorexia", "hand_foot_syndrome", "pneumonia", "rash",
                       "proteinuria", "hypothyroidism", "diarrhea", "hemorrhage", "other"),
           labels={"fatigue": "Fatigue", "nausea_vomiting": "Nausea and vomiting", "hypertension": "Hypertension",
                   "hematologic_toxicity": "Hematologic toxicity",
                   "liver_function_abnormality": "Liver function abnormality", "anorexia": "Anorexia",
                   "hand_foot_syndrome": "Hand-foot syndrome", "pneumonia": "Pneumonia", "rash": "Rash",
                   "proteinuria": "Proteinuria", "hypothyroidism": "Hypothyroidism", "diarrhea": "Diarrhea",
                   "hemorrhage": "Hemorrhage", "other": "Other"}),
    Column("grade", "int", "Worst CTCAE v5.0 grade of this event.", categories=(1, 2, 3, 4, 5), min=1, max=5),
    Column("onset_date", "date", "Date of onset (on or after treatment start).", required=False, nullable=True),
    Column("treatment_related", "category", "Judged related to anlotinib or the ICI.", categories=YES_NO,
           labels=YES_NO_LABELS),
)

SCHEMA: dict[str, tuple[Column, ...]] = {
    "patients": PATIENTS,
    "assessments": ASSESSMENTS,
    "adverse_events": ADVERSE_EVENTS,
}


def columns(table: str) -> dict[str, Column]:
    """Columns of ``table`` by name."""
    return {c.name: c for c in SCHEMA[table]}


def label(table: str, column: str, code: Any) -> str:
    """Display label of a category code (the code itself when no label is defined)."""
    col = columns(table)[column]
    if col.labels and code in col.labels:
        return col.labels[code]
    return str(code)




# --------------------------------------------------------------------------- reading conventions and rules
# (added for the readers, the validator and the generated data dictionary)

#: Cell texts read as a missing value (compared after stripping, case-insensitively), besides an empty cell.
MISSING_TOKENS = frozenset({"", "na", "n/a", "."})

#: File formats accepted for each table, and how they are read.
FILE_FORMATS = (
    ("folder", "A folder holding `patients.*`, `assessments.*` and `adverse_events.*`, exactly one file per "
               "table, each `.csv`, `.xlsx`, `.sav` or `.dta` (formats may be mixed)."),
    ("workbook", "One `.xlsx` workbook with the sheets `patients`, `assessments` and `adverse_events` "
                 "(sheet names are matched ignoring case and spaces; two sheets matching one table, or a "
                 "hidden sheet matching it, is an error; hidden sheets are never read)."),
    (".csv", "UTF-8 (with or without byte-order mark), first line the header; comma, semicolon or tab "
             "separated (detected from the header line); decimal point, not comma; no `sep=` line, no NUL bytes."),
    (".xlsx", "First non-empty row the header; only the used range is read; hidden rows are read and "
              "warned about; no merged cells; formula cells are read from the value Excel saved "
              "with them (a formula without a saved value is an error)."),
    (".sav / .dta", "SPSS and Stata files read with pyreadstat; value labels are mapped to the codes below "
                    "by matching the label against the codes and labels case-insensitively (code 1 labelled "
                    "`Male` -> `male`); date variables must carry a date format."),
)

#: Conventions for cells, by topic.
CELL_CONVENTIONS = (
    ("Column names", "Matched to the names below case-insensitively; unknown columns are kept but warned about."),
    ("Missing", "An empty cell, or `NA`, `N/A` or `.` (any case). Only columns marked nullable may be empty."),
    ("Categories", "Surrounding spaces are ignored; a cell may hold the code or the label, in any case "
                   "(`Male`, ` male `, `MALE` -> `male`); the code is stored."),
    ("Dates", "`YYYY-MM-DD` text, Excel date cells, or SPSS/Stata date variables. `DD/MM/YYYY` and "
              "`MM/DD/YYYY` cannot be told apart and are rejected unless the reader is given "
              "`date_format`: a line `date_format: DD/MM/YYYY` (or `MM/DD/YYYY`, or a strptime format) in the "
              "cohort's `cohort.yaml`, which `make`, the validator and the notebooks all read. Dates before "
              "1900 or after 2100 (`9999-12-31`) are errors. A number in a date column "
              "(an unformatted Excel serial) is an error."),
    ("Integers", "Whole numbers (`3`, `3.0`); `3.5` or text is an error."),
    ("Text in the report", "Text from the input (cohort.yaml's name and description, file and sheet names, "
                           "ICI agents, adverse-event terms) is printed literally: markup is escaped, and "
                           "bidirectional controls and other invisible characters are shown as `\\u202e`."),
    ("Limits", "A real cohort never reaches them: cohort.yaml at most 64 KB, aliases expanding to at most "
               "10,000 values, name 200 and description 5,000 characters; a cell 32,767 characters; a table "
               "1,000,000 rows (a CSV file 1 GB); an open category 200 values; a workbook 512 MB uncompressed."),
    ("Row numbers", "Errors name the row as you see it: CSV line (the header is line 1), Excel sheet row, "
                    "SPSS/Stata case number."),
)


@dataclass(frozen=True)
class Rule:
    """A validation rule: stable id, severity, the table it concerns and what it requires."""

    id: str
    severity: str  # "error" or "warning"
    table: str  # a table name, "all" or "cross-table"
    text: str


RULES: tuple[Rule, ...] = (
    # reading
    Rule("file_empty", "error", "all", "The file (or sheet) is empty: no header row."),
    Rule("file_header_only", "error", "all", "The table has a header but no data rows "
         "(for adverse_events this is the warning no_adverse_events)."),
    Rule("encoding", "error", "all", "A CSV file is not valid UTF-8: re-export it as 'CSV UTF-8'."),
    Rule("read_error", "error", "all", "The file could not be parsed in its format."),
    Rule("csv_fields", "error", "all", "A CSV line has a different number of fields than the header."),
    Rule("excel_merged", "error", "all", "A sheet has merged cells."),
    Rule("excel_formula", "error", "all", "A formula cell has no value saved with it (e.g. a workbook "
         "written by a script and never opened in Excel): paste values instead."),
    Rule("blank_row", "warning", "all", "An empty row inside a table is ignored."),
    Rule("csv_sep_line", "error", "all", "A CSV file starts with Excel's separator hint (`sep=;`): delete that "
         "first line so the header is line 1."),
    Rule("nul_bytes", "error", "all", "A CSV file holds NUL bytes (zero bytes, e.g. padding from a database "
         "export): re-export it, or remove them."),
    Rule("cell_too_long", "error", "all", "A cell holds more than 32,767 characters (Excel's limit; a "
         "broken quote or a pasted document)."),
    Rule("excel_header_row", "error", "all", "An .xlsx sheet's first non-empty row is not the header (e.g. a "
         "title row above it): delete the rows above the header."),
    Rule("excel_hidden_row", "warning", "all", "A row of an .xlsx sheet is hidden (by an AutoFilter or by "
         "hand); it is read like every other row."),
    Rule("excel_hidden_sheet", "warning", "all", "A workbook holds hidden sheets; they are never read (a "
         "hidden sheet with a table's name is an error, the reader stops)."),
    Rule("row_duplicate", "warning", "all", "A row repeats an earlier row of the same table in every column."),
    Rule("not_a_workbook", "error", "all", "A file named .xlsx is not a workbook (an HTML page or an old .xls "
         "saved with the suffix): save it from Excel as 'Excel Workbook (.xlsx)' or export CSV UTF-8."),
    Rule("xlsx_too_large", "error", "all", "A workbook expands to more than 512 MB (checked before it is "
         "opened: a zip bomb, or sheets full of formatting): export CSV."),
    Rule("sheet_ambiguous", "error", "all", "Besides (or instead of) the sheet named like a table, another "
         "visible sheet's name holds the table's name (`patients (2)`, `patients_old`, `Patients 2024`): "
         "rename or delete all but one, or map the table in cohort.yaml (`sheets: {patients: 'patients (2)'}`)."),
    Rule("sheet_mapping", "error", "all", "cohort.yaml's `sheets:` names a sheet the workbook lacks."),
    Rule("link_dangling", "error", "all", "A table file is a symbolic link to a file that does not exist."),
    Rule("link_outside", "error", "all", "A table file is a symbolic link to a file outside the data folder "
         "(an older export?): copy the file in, or add `follow_links: true` to cohort.yaml; the provenance "
         "table then names the file read and its checksum."),
    Rule("rows_too_many", "error", "all", "A table has more than 1,000,000 rows, or a CSV file more than "
         "1 GB (reading stops there)."),
    Rule("categories_too_many", "error", "all", "An open category (ICI agent, adverse-event term) has more "
         "than 200 different values."),
    Rule("category_unlisted", "warning", "all", "An ICI agent or adverse-event term that is not among the "
         "dictionary's names: accepted and shown as written."),
    Rule("dose_unusual", "warning", "patients", "A starting dose other than the usual 8, 10 or 12 mg: accepted."),
    Rule("date_excel_serial", "error", "all", "A whole number such as 44715 in a date column of a CSV file is "
         "an Excel serial date (days since 1899-12-30): format the column as a date in Excel before saving, "
         "or write YYYY-MM-DD."),
    Rule("fullwidth", "error", "all", "A cell is written in full-width characters (`ｍａｌｅ`, `１２`): "
         "retype it in ordinary (half-width) characters."),
    Rule("text_invisible", "error", "all", "An ICI agent or adverse-event term holds a bidirectional control "
         "(U+202E shows `gnp.exe` as `exe.png`), a zero-width or another invisible character: retype it. "
         "(Text from cohort.yaml, file and sheet names is printed with such characters shown as `\\u202e`.)"),
    Rule("glyph_missing", "warning", "all", "A character of the input that no shipped font can show "
         "(printed as an empty box in the PDF)."),
    # cohort.yaml
    Rule("yaml_too_large", "error", "cohort.yaml", "cohort.yaml is larger than 64 KB."),
    Rule("yaml_invalid", "error", "cohort.yaml", "cohort.yaml is not valid YAML."),
    Rule("yaml_alias_bomb", "error", "cohort.yaml", "cohort.yaml's aliases expand to more than 10,000 values."),
    Rule("yaml_not_mapping", "error", "cohort.yaml", "cohort.yaml is not a mapping of keys to values (e.g. "
         "a single string)."),
    Rule("yaml_key_type", "error", "cohort.yaml", "A known key of cohort.yaml has the wrong type (name, "
         "description, date_format and the article's keys: text, authors: text or a list; synthetic, "
         "follow_links: true/false; sheets: a mapping)."),
    Rule("text_too_long", "error", "cohort.yaml", "name is longer than 200 characters, or description or "
         "another text field (title, subtitle, authors, affiliation, running_head, ethics, funding, conflicts, "
         "data_availability) longer than 5,000."),
    Rule("text_identifier", "error", "cohort.yaml", "name, description or another text field holds a "
         "patient identifier or a patient-level date of the cohort (ISO or day/month forms); the message names the field, never the "
         "value."),
    # columns
    Rule("column_missing", "error", "all", "A required column is absent."),
    Rule("column_duplicate", "error", "all", "Two columns have the same name."),
    Rule("column_unnamed", "error", "all", "A column holding values has an empty header cell."),
    Rule("column_unknown", "warning", "all", "A column not in this dictionary (kept, not used)."),
    Rule("column_invisible", "error", "all", "A header holds an invisible character (zero-width space, "
         "byte-order mark, control character): retype the header."),
    # cells
    Rule("missing", "error", "all", "A cell of a column that is not nullable is empty."),
    Rule("type", "error", "all", "A cell cannot be read as the column's type (e.g. text in age)."),
    Rule("date", "error", "all", "A date cell is not a valid date (e.g. 2024-02-30)."),
    Rule("date_ambiguous", "error", "all", "A slash date (03/04/2024) without a `date_format` (set it in "
         "the cohort's `cohort.yaml`: `date_format: DD/MM/YYYY`)."),
    Rule("date_implausible", "error", "all", "A date before 1900-01-01 or after 2100-12-31 (e.g. 9999-12-31 "
         "standing for 'unknown': leave the cell empty instead)."),
    Rule("category", "error", "all", "A value is not one of the allowed codes or labels."),
    Rule("value_label", "error", "all", "An SPSS/Stata value label (or an unlabelled value of a labelled "
         "variable) matches none of the allowed codes or labels."),
    Rule("range", "error", "all", "A number is outside the column's range."),
    Rule("id_duplicate", "error", "patients", "A patient_id appears more than once (ids that differ only in "
         "case or surrounding spaces are the same id)."),
    Rule("id_spelling", "error", "cross-table", "A patient_id of assessments or adverse_events matches a "
         "patients id only when case or spaces are ignored: spell every id as in the patients table."),
    # cross-table
    Rule("orphan_patient", "error", "cross-table", "Every assessment and adverse event belongs to a "
         "patient_id of the patients table."),
    Rule("cutoff_differs", "error", "patients", "data_cutoff_date is the same for every patient "
         "(rows differing from the most common date are flagged)."),
    Rule("start_after_cutoff", "error", "patients", "treatment_start_date is not after data_cutoff_date."),
    Rule("progression_before_start", "error", "patients", "progression_date is not before treatment_start_date."),
    Rule("death_before_start", "error", "patients", "death_date is not before treatment_start_date."),
    Rule("last_contact_before_start", "error", "patients", "last_contact_date is not before "
         "treatment_start_date."),
    Rule("progression_after_death", "error", "patients", "progression_date is not after death_date."),
    Rule("progression_after_cutoff", "error", "patients", "progression_date is not after data_cutoff_date."),
    Rule("death_after_cutoff", "error", "patients", "death_date is not after data_cutoff_date."),
    Rule("last_contact_after_cutoff", "error", "patients", "last_contact_date is not after data_cutoff_date."),
    Rule("last_contact_after_death", "error", "patients", "For a patient who died, last_contact_date is "
         "not after death_date."),
    Rule("last_contact_before_death", "warning", "patients", "For a patient who died, last_contact_date "
         "should equal death_date (it is the date last known alive or the date of death)."),
    Rule("progression_after_last_contact", "warning", "patients", "For a patient alive at last contact, "
         "progression_date is not after last_contact_date."),
    Rule("on_treatment_inconsistent", "warning", "patients", "on_treatment_at_cutoff = yes although the "
         "patient progressed or died before the cutoff."),
    Rule("assessment_before_start", "error", "assessments", "assessment_date is after treatment_start_date "
         "(assessments are on-treatment; the baseline sum belongs in patients.baseline_sum_mm)."),
    Rule("assessment_after_death", "error", "assessments", "assessment_date is not after death_date."),
    Rule("assessment_after_cutoff", "warning", "assessments", "assessment_date is after data_cutoff_date."),
    Rule("assessment_duplicate", "warning", "assessments", "Two assessments of a patient on the same date."),
    Rule("pd_without_progression", "warning", "assessments", "An assessment of PD has a progression_date on or "
         "before its date (PFS is derived from progression_date; a PD that was not taken as progression, e.g. "
         "treatment beyond progression, needs response_override = yes)."),
    Rule("ae_before_start", "error", "adverse_events", "onset_date is not before treatment_start_date."),
    Rule("ae_after_death", "error", "adverse_events", "onset_date is not after death_date."),
    Rule("ae_after_cutoff", "error", "adverse_events", "onset_date is not after data_cutoff_date."),
    Rule("ae_grade5_alive", "error", "adverse_events", "A grade 5 (fatal) adverse event belongs to a patient "
         "with a death_date."),
    # RECIST 1.1
    Rule("recist_pr", "error", "assessments", "PR: sum_diameters_mm at least 30 % below baseline_sum_mm, "
         "and not meeting the PD size rule."),
    Rule("recist_pr_no_disease", "error", "assessments", "PR needs measurable disease at baseline: "
         "baseline_sum_mm is not 0."),
    Rule("recist_cr", "error", "assessments", "CR: sum_diameters_mm at most 10 mm (all target lesions "
         "gone; a residual lymph node, short axis < 10 mm, may remain; more than one residual node needs "
         "response_override), no new lesions."),
    Rule("recist_pd", "error", "assessments", "PD: sum_diameters_mm at least 20 % and at least 5 mm above "
         "the nadir (the smallest sum so far, baseline included), or new_lesions = yes."),
    Rule("recist_sd", "error", "assessments", "SD: neither the PR size rule (30 % below baseline) nor the "
         "PD size rule holds."),
    Rule("recist_new_lesions", "error", "assessments", "new_lesions = yes means PD."),
    # completeness
    Rule("no_assessments", "warning", "patients", "A patient without any assessment is counted as not "
         "evaluable (NE)."),
    Rule("no_adverse_events", "warning", "adverse_events", "The adverse-event table has no rows."),
)

#: Rules by id.
RULE_BY_ID: dict[str, Rule] = {r.id: r for r in RULES}

RECIST_NOTE = (
    "RECIST checks are skipped on a row with `response_override = yes` (the investigator's documented "
    "exception, e.g. clinical progression), on NE rows, and where a sum needed by the rule is missing. "
    "Assessments are taken in date order per patient; the nadir includes the baseline sum. "
    "Confirmation of responses is not required (retrospective data)."
)


def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _fmt_num(x: float | None) -> str:
    if x is None:
        return ""
    return f"{x:g}"


def data_dictionary() -> str:
    """The data dictionary (Markdown) generated from this module."""
    kind_names = {"id": "identifier", "int": "integer", "float": "number", "category": "category",
                  "date": "date", "text": "text"}
    out = [
        "# Data dictionary",
        "",
        "<!-- Generated by `python -m analysis.data.schema` from analysis/data/schema.py: do not edit by hand. -->",
        "",
        "A cohort is three tables: `patients` (one row per patient), `assessments` (one row per "
        "on-treatment tumour assessment) and `adverse_events` (one row per adverse event). "
        "Check a cohort with `python -m analysis.data.validate PATH --report validation.csv`.",
        "",
        "## Files",
        "",
        "| Form | How it is read |",
        "|---|---|",
    ]
    out += [f"| {_md(k)} | {_md(v)} |" for k, v in FILE_FORMATS]
    out += ["", "## Cells", "", "| Topic | Convention |", "|---|---|"]
    out += [f"| {_md(k)} | {_md(v)} |" for k, v in CELL_CONVENTIONS]
    for table in TABLES:
        out += ["", f"## Table `{table}`", "",
                "| Column | Type | Unit | Required | Nullable | Allowed values | Range | Description |",
                "|---|---|---|---|---|---|---|---|"]
        for c in SCHEMA[table]:
            if c.categories is not None:
                allowed = "; ".join(f"`{k}`" + (f" = {c.labels[k]}" if c.labels and k in c.labels else "")
                                    for k in c.categories)
                if c.extra.get("open"):
                    allowed = "any text; known: " + allowed
            elif c.extra.get("usual"):
                allowed = "usual: " + ", ".join(str(k) for k in c.extra["usual"])
            else:
                allowed = ""
            rng = ""
            if c.min is not None or c.max is not None:
                rng = f"{_fmt_num(c.min)}–{_fmt_num(c.max)}"
            desc = c.description + (" Identifier: never shown in any output." if c.identifier else "")
            out.append(f"| `{c.name}` | {kind_names.get(c.kind, c.kind)} | {_md(c.unit or '')} | "
                       f"{'yes' if c.required else 'no'} | {'yes' if c.nullable else 'no'} | {_md(allowed)} | "
                       f"{rng} | {_md(desc)} |")
    out += ["", "## Validation rules", "",
            "Every rule has a stable id; the validator names it at the start of each message "
            "(`category: 'mael' is not one of male, female`). Errors stop the analysis; warnings don't.",
            "", "| Rule | Severity | Table | Requirement |", "|---|---|---|---|"]
    out += [f"| `{r.id}` | {r.severity} | {r.table} | {_md(r.text)} |" for r in RULES]
    out += ["", RECIST_NOTE, ""]
    from analysis.data.cohort_meta import markdown_section  # the cohort.yaml keys (issue #28)

    out += [markdown_section(), ""]
    return "\n".join(out)


def write_data_dictionary(path=None):
    """Write :func:`data_dictionary` to ``path`` (default ``data/DATA_DICTIONARY.md``); returns the path."""
    from pathlib import Path

    from analysis.paths import DATA_DIR

    path = Path(path) if path is not None else DATA_DIR / "DATA_DICTIONARY.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data_dictionary(), encoding="utf-8", newline="\n")
    return path


if __name__ == "__main__":
    import sys

    print(f"wrote {write_data_dictionary(sys.argv[1] if len(sys.argv) > 1 else None)}")
