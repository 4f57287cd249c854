//! Every fixed text of the report, in English and French, in one place. Why one long file:
//! both languages side by side, so a text missing in one shows at once. Texts with `{name}`
//! placeholders are filled by [`fill`]. KPI, outcome and dimension names come from the
//! catalog (`name_fr`, falling back to the English `name`).

use serde::Serialize;

/// The report's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// English.
    #[default]
    En,
    /// French.
    Fr,
}

impl Lang {
    /// The language's code, as `<html lang>` and `--lang` write it.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
        }
    }

    /// The fixed texts of the language.
    pub(crate) fn texts(self) -> &'static Texts {
        match self {
            Lang::En => &EN,
            Lang::Fr => &FR,
        }
    }
}

/// The fixed texts of the report.
#[derive(Debug, Serialize)]
pub(crate) struct Texts {
    pub(crate) title: &'static str,
    pub(crate) dry_run_origin: &'static str,
    pub(crate) run_origin: &'static str,
    pub(crate) generated: &'static str,
    pub(crate) catalog: &'static str,
    pub(crate) region: &'static str,
    pub(crate) income_group: &'static str,
    pub(crate) year: &'static str,
    pub(crate) contents: &'static str,
    pub(crate) summary: &'static str,
    pub(crate) overall: &'static str,
    pub(crate) score: &'static str,
    pub(crate) level: &'static str,
    pub(crate) status: &'static str,
    pub(crate) coverage: &'static str,
    pub(crate) dimensions_and_outcomes: &'static str,
    pub(crate) dimension: &'static str,
    pub(crate) outcome: &'static str,
    pub(crate) chart_dimensions: &'static str,
    pub(crate) chart_kpis: &'static str,
    pub(crate) chart_kpis_note: &'static str,
    pub(crate) chart_kpis_no_peers: &'static str,
    pub(crate) member_score: &'static str,
    pub(crate) peer_median_score: &'static str,
    pub(crate) indicators: &'static str,
    pub(crate) indicator: &'static str,
    pub(crate) value: &'static str,
    pub(crate) reason: &'static str,
    pub(crate) official: &'static str,
    pub(crate) illustrative: &'static str,
    pub(crate) informational: &'static str,
    pub(crate) t_value: &'static str,
    pub(crate) t1_value: &'static str,
    pub(crate) variation: &'static str,
    pub(crate) peers: &'static str,
    pub(crate) peers_absent: &'static str,
    pub(crate) peers_group_region: &'static str,
    pub(crate) peers_group_income: &'static str,
    pub(crate) peers_group_all: &'static str,
    pub(crate) median: &'static str,
    pub(crate) iqr: &'static str,
    pub(crate) too_few_peers: &'static str,
    pub(crate) method: &'static str,
    pub(crate) method_intro: &'static str,
    pub(crate) formula: &'static str,
    pub(crate) sql: &'static str,
    pub(crate) numerator: &'static str,
    pub(crate) denominator: &'static str,
    pub(crate) floor: &'static str,
    pub(crate) target: &'static str,
    pub(crate) direction: &'static str,
    pub(crate) scoring: &'static str,
    pub(crate) not_scored: &'static str,
    pub(crate) datasets_read: &'static str,
    pub(crate) validation: &'static str,
    pub(crate) validation_intro: &'static str,
    pub(crate) validation_unavailable: &'static str,
    pub(crate) dataset: &'static str,
    pub(crate) file: &'static str,
    pub(crate) rows_read: &'static str,
    pub(crate) rows_rejected: &'static str,
    pub(crate) accepted: &'static str,
    pub(crate) rejected: &'static str,
    pub(crate) issues: &'static str,
    pub(crate) no_issues: &'static str,
    pub(crate) record: &'static str,
    pub(crate) column: &'static str,
    pub(crate) rule: &'static str,
    pub(crate) severity: &'static str,
    pub(crate) message: &'static str,
    pub(crate) count: &'static str,
    pub(crate) more_rows: &'static str,
    pub(crate) disclosure: &'static str,
    pub(crate) disclosure_intro: &'static str,
    pub(crate) disclosure_level: &'static str,
    pub(crate) seen_by: &'static str,
    pub(crate) audience_secretariat: &'static str,
    pub(crate) audience_wco: &'static str,
    pub(crate) audience_public: &'static str,
    pub(crate) visible: &'static str,
    pub(crate) hidden: &'static str,
    pub(crate) public_sees: &'static str,
    pub(crate) shown_as: &'static str,
    pub(crate) levels_legend: &'static str,
    pub(crate) none: &'static str,
    pub(crate) submission_rejected: &'static str,
    pub(crate) cycles: &'static str,
    pub(crate) cycles_intro: &'static str,
    pub(crate) restated: &'static str,
    pub(crate) not_comparable: &'static str,
    pub(crate) restatements: &'static str,
    pub(crate) no_restatement: &'static str,
    pub(crate) old_value: &'static str,
    pub(crate) new_value: &'static str,
    pub(crate) cause: &'static str,
    pub(crate) trend: &'static str,
    pub(crate) review: &'static str,
    pub(crate) review_intro: &'static str,
    pub(crate) review_none: &'static str,
    pub(crate) review_no_peers: &'static str,
    pub(crate) review_what: &'static str,
    pub(crate) review_rule: &'static str,
    pub(crate) review_subject: &'static str,
    pub(crate) review_explanation: &'static str,
    pub(crate) review_no_explanation: &'static str,
    pub(crate) review_from_none: &'static str,
    pub(crate) review_count_change: &'static str,
    pub(crate) review_value_change: &'static str,
    pub(crate) review_outside_range: &'static str,
    pub(crate) review_peer_outlier: &'static str,
    pub(crate) rule_count_change: &'static str,
    pub(crate) rule_value_change: &'static str,
    pub(crate) rule_outside_range: &'static str,
    pub(crate) rule_peer_outlier: &'static str,
}

/// The level of a score in words, 1 to 5.
pub(crate) fn level_word(lang: Lang, level: i64) -> &'static str {
    let words = match lang {
        Lang::En => [
            "Initial",
            "Developing",
            "Established",
            "Advanced",
            "Leading",
        ],
        Lang::Fr => [
            "Initial",
            "En développement",
            "Établi",
            "Avancé",
            "Exemplaire",
        ],
    };
    usize::try_from(level - 1)
        .ok()
        .and_then(|i| words.get(i))
        .copied()
        .unwrap_or("")
}

/// A KPI's or a roll-up's status in words.
pub(crate) fn status_word(lang: Lang, status: &str) -> &'static str {
    match (lang, status) {
        (Lang::En, "ok") => "computed",
        (Lang::En, "not_applicable") => "not applicable",
        (Lang::En, "invalid_submission") => "invalid submission",
        (Lang::En, "missing_data") => "missing data",
        (Lang::En, "undefined") => "undefined",
        (Lang::En, "insufficient_coverage") => "insufficient coverage",
        (Lang::Fr, "ok") => "calculé",
        (Lang::Fr, "not_applicable") => "sans objet",
        (Lang::Fr, "invalid_submission") => "soumission invalide",
        (Lang::Fr, "missing_data") => "données manquantes",
        (Lang::Fr, "undefined") => "indéfini",
        (Lang::Fr, "insufficient_coverage") => "couverture insuffisante",
        _ => "",
    }
}

/// A unit in words (after a value).
pub(crate) fn unit_word(lang: Lang, unit: &str) -> &'static str {
    match (lang, unit) {
        (_, "percent") => "%",
        (Lang::En, "hours") => "h",
        (Lang::Fr, "hours") => "h",
        (Lang::En, "currency") => "(national currency)",
        (Lang::Fr, "currency") => "(monnaie nationale)",
        _ => "",
    }
}

/// A scoring direction in words.
pub(crate) fn direction_word(lang: Lang, direction: &str) -> &'static str {
    match (lang, direction) {
        (Lang::En, "higher_is_better") => "higher is better",
        (Lang::En, "lower_is_better") => "lower is better",
        (Lang::En, _) => "informational: not scored",
        (Lang::Fr, "higher_is_better") => "plus élevé est meilleur",
        (Lang::Fr, "lower_is_better") => "plus bas est meilleur",
        (Lang::Fr, _) => "informatif : non noté",
    }
}

/// Why a KPI has no value, in words: placeholders `{dataset}`, `{year}`, `{why}`, `{reason}`,
/// `{numerator}`, `{denominator}`.
pub(crate) struct Reasons {
    pub(crate) not_applicable: &'static str,
    pub(crate) not_applicable_because: &'static str,
    pub(crate) submission_rejected: &'static str,
    pub(crate) dataset_rejected: &'static str,
    pub(crate) dataset_rejected_unknown: &'static str,
    pub(crate) dataset_missing: &'static str,
    pub(crate) undefined_zero: &'static str,
    pub(crate) undefined_empty: &'static str,
}

/// The reasons of a language.
pub(crate) fn reasons(lang: Lang) -> &'static Reasons {
    match lang {
        Lang::En => &Reasons {
            not_applicable: "Declared not applicable in the submission's manifest.",
            not_applicable_because: "Declared not applicable in the submission's manifest: {reason}",
            submission_rejected: "The whole submission of {year} was rejected: {why}",
            dataset_rejected: "The {dataset} file of {year} was rejected: {why}",
            dataset_rejected_unknown: "The {dataset} file of {year} was rejected (see the validation issues).",
            dataset_missing: "No {dataset} file was submitted for {year}.",
            undefined_zero: "The denominator is zero (numerator {numerator}, denominator {denominator}): the value is not defined.",
            undefined_empty: "No row of the data meets the formula's conditions: the value is not defined.",
        },
        Lang::Fr => &Reasons {
            not_applicable: "Déclaré sans objet dans le manifeste de la soumission.",
            not_applicable_because: "Déclaré sans objet dans le manifeste de la soumission : {reason}",
            submission_rejected: "Toute la soumission de {year} a été rejetée : {why}",
            dataset_rejected: "Le fichier {dataset} de {year} a été rejeté : {why}",
            dataset_rejected_unknown: "Le fichier {dataset} de {year} a été rejeté (voir les anomalies de validation).",
            dataset_missing: "Aucun fichier {dataset} n'a été soumis pour {year}.",
            undefined_zero: "Le dénominateur est nul (numérateur {numerator}, dénominateur {denominator}) : la valeur n'est pas définie.",
            undefined_empty: "Aucune ligne des données ne remplit les conditions de la formule : la valeur n'est pas définie.",
        },
    }
}

/// The scoring arithmetic: placeholders `{value}`, `{floor}`, `{target}`, `{score}`,
/// `{level}`.
pub(crate) fn scoring_arithmetic(lang: Lang) -> &'static str {
    match lang {
        Lang::En => {
            "score = 100 × clamp((value − floor) / (target − floor), 0, 1) = 100 × clamp(({value} − {floor}) / ({target} − {floor}), 0, 1) = {score}, level {level}"
        }
        Lang::Fr => {
            "note = 100 × borne((valeur − plancher) / (cible − plancher), 0, 1) = 100 × borne(({value} − {floor}) / ({target} − {floor}), 0, 1) = {score}, niveau {level}"
        }
    }
}

/// `text` with each `{name}` replaced by its value.
pub(crate) fn fill(text: &str, values: &[(&str, &str)]) -> String {
    values.iter().fold(text.to_string(), |out, (name, value)| {
        out.replace(&format!("{{{name}}}"), value)
    })
}

/// A number for people: `digits` decimals, grouped thousands; `.` and `,` in English, `,` and
/// a narrow space in French.
pub(crate) fn number(lang: Lang, value: f64, digits: usize) -> String {
    let text = format!("{:.*}", digits, value.abs());
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let (group, point) = match lang {
        Lang::En => (",", "."),
        Lang::Fr => ("\u{202f}", ","),
    };
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push_str(group);
        }
        grouped.push(c);
    }
    let sign = if value < 0.0 && text.chars().any(|c| c.is_ascii_digit() && c != '0') {
        "−"
    } else {
        ""
    };
    if fraction.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped}{point}{fraction}")
    }
}

static EN: Texts = Texts {
    title: "PMM performance report",
    dry_run_origin: "Self-assessment dry run on the files of {data}: nothing was submitted or published.",
    run_origin: "Published run {run_id} of {results}, as the {audience} audience sees it.",
    generated: "Generated",
    catalog: "Catalog",
    region: "Region",
    income_group: "Income group",
    year: "Year",
    contents: "Contents",
    summary: "Summary",
    overall: "Overall",
    score: "Score",
    level: "Level",
    status: "Status",
    coverage: "Coverage",
    dimensions_and_outcomes: "Dimensions and expected outcomes",
    dimension: "Dimension",
    outcome: "Expected outcome",
    chart_dimensions: "Dimension scores (0 to 100)",
    chart_kpis: "KPI scores against the peer median",
    chart_kpis_note: "Bar: this member's score. Mark: the score the median of all members' values would get.",
    chart_kpis_no_peers: "Bar: this member's score (no peer statistics were given: run with --peers to compare).",
    member_score: "member's score",
    peer_median_score: "peer median's score",
    indicators: "Key performance indicators",
    indicator: "Indicator",
    value: "Value",
    reason: "Why there is no value",
    official: "official PMM KPI",
    illustrative: "illustrative KPI",
    informational: "informational",
    t_value: "Year T",
    t1_value: "Year T-1",
    variation: "Variation",
    peers: "Peers: median (interquartile range)",
    peers_absent: "No peer statistics: run with --peers RESULTS to compare with the published ones.",
    peers_group_region: "region",
    peers_group_income: "income group",
    peers_group_all: "all members",
    median: "median",
    iqr: "interquartile range",
    too_few_peers: "too few members",
    method: "How each KPI was computed",
    method_intro: "Each KPI runs one SQL query over the valid rows of the datasets it names. Its value is scored against a floor (score 0) and a target (score 100).",
    formula: "Formula",
    sql: "SQL",
    numerator: "Numerator",
    denominator: "Denominator",
    floor: "Floor",
    target: "Target",
    direction: "Direction",
    scoring: "Scoring",
    not_scored: "not scored",
    datasets_read: "Datasets",
    validation: "Validation of the files",
    validation_intro: "Every file was checked against its dataset contract. A rejected file counts for no KPI; an invalid record is left out of every KPI. Fix the records listed below, by file, record number (the header is not a record) and column.",
    validation_unavailable: "The validation details of this run are only for the Secretariat.",
    dataset: "Dataset",
    file: "File",
    rows_read: "Records read",
    rows_rejected: "Records rejected",
    accepted: "accepted",
    rejected: "rejected",
    issues: "Issues",
    no_issues: "No issue: every record of every file is valid.",
    record: "Record",
    column: "Column",
    rule: "Rule",
    severity: "Severity",
    message: "Message",
    count: "Rows",
    more_rows: "more rows break this rule",
    disclosure: "Who will see what",
    disclosure_intro: "Each KPI is disclosed at the level the manifest sets (or the default). A score takes the most restrictive level of the KPIs under it.",
    disclosure_level: "Disclosure level",
    seen_by: "Seen by",
    audience_secretariat: "WCO Secretariat",
    audience_wco: "WCO Members",
    audience_public: "Public",
    visible: "visible",
    hidden: "hidden",
    public_sees: "The public will see {kpis} of {total} KPIs and {scores} of {total_scores} scores of this member.",
    shown_as: "Shown as",
    levels_legend: "Levels: 1 Initial (below 20), 2 Developing (below 40), 3 Established (below 60), 4 Advanced (below 80), 5 Leading.",
    none: "none",
    submission_rejected: "Submission rejected",
    cycles: "Across cycles",
    cycles_intro: "The current value of each year published so far. * marks a value restated after it was first published; | a year whose KPI definition is not comparable with the year before (the line breaks there).",
    restated: "restated",
    not_comparable: "not comparable with the year before",
    restatements: "Restatements",
    no_restatement: "No value of this member was restated.",
    old_value: "Was",
    new_value: "Now",
    cause: "Why",
    trend: "Trend",
    review: "Points to review",
    review_intro: "Figures that passed validation but look unusual for a whole year. A point to review changes no value, score or level: the Secretariat looks at each before it publishes. If a figure is wrong, correct the file; if it is right, say why in the manifest (explanations:) and the explanation is shown beside it.",
    review_none: "Nothing to review: no count or value moved or stood out beyond the catalog's bounds.",
    review_no_peers: "Values were not compared with peers (give --peers to the dry run for that).",
    review_what: "What was found",
    review_rule: "Check",
    review_subject: "Data set or KPI",
    review_explanation: "Explanation",
    review_no_explanation: "none given",
    review_from_none: "from none",
    review_count_change: "{observed} valid rows in {year} against {reference} in {previous} ({change}).",
    review_value_change: "{observed} in {year} against {reference} in {previous} ({change}), more than the {max} change it allows.",
    review_outside_range: "{observed} in {year}, outside the plausible range {low} to {high}.",
    review_peer_outlier: "{observed} in {year}, far from its peers: their median is {reference}, and {low} to {high} holds all but outliers.",
    rule_count_change: "Row count changed",
    rule_value_change: "Value changed",
    rule_outside_range: "Outside its range",
    rule_peer_outlier: "Far from peers",
};

static FR: Texts = Texts {
    title: "Rapport de performance MMP",
    dry_run_origin: "Essai d'auto-évaluation sur les fichiers de {data} : rien n'a été soumis ni publié.",
    run_origin: "Exécution publiée {run_id} de {results}, telle que l'audience {audience} la voit.",
    generated: "Produit le",
    catalog: "Catalogue",
    region: "Région",
    income_group: "Groupe de revenu",
    year: "Année",
    contents: "Sommaire",
    summary: "Synthèse",
    overall: "Note globale",
    score: "Note",
    level: "Niveau",
    status: "Statut",
    coverage: "Couverture",
    dimensions_and_outcomes: "Dimensions et résultats attendus",
    dimension: "Dimension",
    outcome: "Résultat attendu",
    chart_dimensions: "Notes des dimensions (0 à 100)",
    chart_kpis: "Notes des ICP face à la médiane des pairs",
    chart_kpis_note: "Barre : la note de ce membre. Repère : la note qu'obtiendrait la médiane des valeurs de tous les membres.",
    chart_kpis_no_peers: "Barre : la note de ce membre (aucune statistique de pairs : lancer avec --peers pour comparer).",
    member_score: "note du membre",
    peer_median_score: "note de la médiane des pairs",
    indicators: "Indicateurs clés de performance",
    indicator: "Indicateur",
    value: "Valeur",
    reason: "Pourquoi il n'y a pas de valeur",
    official: "ICP officiel du MMP",
    illustrative: "ICP illustratif",
    informational: "informatif",
    t_value: "Année T",
    t1_value: "Année T-1",
    variation: "Variation",
    peers: "Pairs : médiane (écart interquartile)",
    peers_absent: "Pas de statistiques de pairs : lancer avec --peers RÉSULTATS pour comparer avec celles publiées.",
    peers_group_region: "région",
    peers_group_income: "groupe de revenu",
    peers_group_all: "tous les membres",
    median: "médiane",
    iqr: "écart interquartile",
    too_few_peers: "trop peu de membres",
    method: "Comment chaque ICP a été calculé",
    method_intro: "Chaque ICP exécute une requête SQL sur les lignes valides des jeux de données qu'il cite. Sa valeur est notée entre un plancher (note 0) et une cible (note 100).",
    formula: "Formule",
    sql: "SQL",
    numerator: "Numérateur",
    denominator: "Dénominateur",
    floor: "Plancher",
    target: "Cible",
    direction: "Sens",
    scoring: "Notation",
    not_scored: "non noté",
    datasets_read: "Jeux de données",
    validation: "Validation des fichiers",
    validation_intro: "Chaque fichier a été vérifié selon le contrat de son jeu de données. Un fichier rejeté ne compte pour aucun ICP ; un enregistrement invalide est écarté de tous les ICP. Corrigez les enregistrements listés ci-dessous, par fichier, numéro d'enregistrement (l'en-tête n'en est pas un) et colonne.",
    validation_unavailable: "Le détail de la validation de cette exécution est réservé au Secrétariat.",
    dataset: "Jeu de données",
    file: "Fichier",
    rows_read: "Enregistrements lus",
    rows_rejected: "Enregistrements rejetés",
    accepted: "accepté",
    rejected: "rejeté",
    issues: "Anomalies",
    no_issues: "Aucune anomalie : chaque enregistrement de chaque fichier est valide.",
    record: "Enregistrement",
    column: "Colonne",
    rule: "Règle",
    severity: "Gravité",
    message: "Message",
    count: "Lignes",
    more_rows: "lignes de plus enfreignent cette règle",
    disclosure: "Qui verra quoi",
    disclosure_intro: "Chaque ICP est diffusé au niveau fixé par le manifeste (ou par défaut). Une note prend le niveau le plus restrictif des ICP qui la composent.",
    disclosure_level: "Niveau de diffusion",
    seen_by: "Vu par",
    audience_secretariat: "Secrétariat de l'OMD",
    audience_wco: "Membres de l'OMD",
    audience_public: "Public",
    visible: "visible",
    hidden: "masqué",
    public_sees: "Le public verra {kpis} des {total} ICP et {scores} des {total_scores} notes de ce membre.",
    shown_as: "Affiché comme",
    levels_legend: "Niveaux : 1 Initial (moins de 20), 2 En développement (moins de 40), 3 Établi (moins de 60), 4 Avancé (moins de 80), 5 Exemplaire.",
    none: "aucun",
    submission_rejected: "Soumission rejetée",
    cycles: "D'un cycle à l'autre",
    cycles_intro: "La valeur actuelle de chaque année publiée à ce jour. * signale une valeur révisée après sa première publication ; | une année dont la définition de l'ICP n'est pas comparable à celle de l'année précédente (la courbe s'y interrompt).",
    restated: "révisé",
    not_comparable: "non comparable à l'année précédente",
    restatements: "Révisions",
    no_restatement: "Aucune valeur de ce membre n'a été révisée.",
    old_value: "Avant",
    new_value: "Après",
    cause: "Pourquoi",
    trend: "Tendance",
    review: "Points à vérifier",
    review_intro: "Des chiffres qui ont passé la validation mais semblent inhabituels pour toute une année. Un point à vérifier ne change ni valeur, ni score, ni niveau : le Secrétariat examine chacun avant de publier. Si un chiffre est faux, corrigez le fichier ; s'il est juste, expliquez-le dans le manifeste (explanations:) et l'explication s'affiche à côté.",
    review_none: "Rien à vérifier : aucun nombre de lignes ni aucune valeur ne sort des bornes du catalogue.",
    review_no_peers: "Les valeurs n'ont pas été comparées à celles des pairs (donnez --peers à l'essai pour cela).",
    review_what: "Constat",
    review_rule: "Contrôle",
    review_subject: "Jeu de données ou ICP",
    review_explanation: "Explication",
    review_no_explanation: "aucune",
    review_from_none: "à partir de zéro",
    review_count_change: "{observed} lignes valides en {year} contre {reference} en {previous} ({change}).",
    review_value_change: "{observed} en {year} contre {reference} en {previous} ({change}), plus que la variation de {max} admise.",
    review_outside_range: "{observed} en {year}, hors de la plage plausible de {low} à {high}.",
    review_peer_outlier: "{observed} en {year}, loin de ses pairs : leur médiane est de {reference}, et l'intervalle de {low} à {high} contient tout sauf les valeurs aberrantes.",
    rule_count_change: "Nombre de lignes modifié",
    rule_value_change: "Valeur modifiée",
    rule_outside_range: "Hors de sa plage",
    rule_peer_outlier: "Loin des pairs",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_as_each_language_writes_them() {
        assert_eq!(number(Lang::En, 1234567.891, 2), "1,234,567.89");
        assert_eq!(
            number(Lang::Fr, 1234567.891, 2),
            "1\u{202f}234\u{202f}567,89"
        );
        assert_eq!(number(Lang::En, -0.004, 2), "0.00");
        assert_eq!(number(Lang::En, -12.5, 1), "−12.5");
        assert_eq!(number(Lang::En, 999.0, 0), "999");
    }

    #[test]
    fn placeholders_are_filled() {
        assert_eq!(
            fill(
                "The {dataset} file of {year}",
                &[("dataset", "staff"), ("year", "2024")]
            ),
            "The staff file of 2024"
        );
    }
}
