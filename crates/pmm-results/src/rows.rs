//! The rows of the result tables, typed: what scoring produces, what [`crate::encode`] writes
//! and what readers get back.

use std::fmt;

use pmm_catalog::{Assessment, Disclosure, IncomeGroup, Region, Status, Unit};

/// The status of an outcome, dimension or overall score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RollupStatus {
    /// A score.
    Ok,
    /// Too few of its applicable KPIs have a value: no score.
    InsufficientCoverage,
    /// None of its scored KPIs applies to the member.
    NotApplicable,
}

impl RollupStatus {
    /// The name written in result files.
    pub fn as_str(self) -> &'static str {
        match self {
            RollupStatus::Ok => "ok",
            RollupStatus::InsufficientCoverage => "insufficient_coverage",
            RollupStatus::NotApplicable => "not_applicable",
        }
    }
}

impl fmt::Display for RollupStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row of `indicator_values`.
#[derive(Debug, Clone, PartialEq)]
pub struct IndicatorRow {
    /// Member code.
    pub member: String,
    /// Region id.
    pub region: Region,
    /// Income group id.
    pub income_group: IncomeGroup,
    /// Dimension id.
    pub dimension: String,
    /// Outcome id.
    pub outcome: String,
    /// Indicator id.
    pub indicator: String,
    /// Status.
    pub status: Status,
    /// Value (ok only).
    pub value: Option<f64>,
    /// Numerator, when the indicator gives one.
    pub numerator: Option<f64>,
    /// Denominator, when the indicator gives one.
    pub denominator: Option<f64>,
    /// Unit.
    pub unit: Unit,
    /// Score 0..100 (ok and scored only).
    pub score: Option<f64>,
    /// Level 1..5 (ok and scored only).
    pub level: Option<i64>,
    /// Who may see this row.
    pub disclosure: Disclosure,
    /// How the member's data was assessed.
    pub assessment: Assessment,
    /// SHA-256 of the indicator's definition file.
    pub definition_hash: String,
}

/// One row of `outcome_scores` or `dimension_scores`.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreRow {
    /// Member code.
    pub member: String,
    /// Region id.
    pub region: Region,
    /// Income group id.
    pub income_group: IncomeGroup,
    /// Dimension id (`overall` for the overall score).
    pub dimension: String,
    /// Outcome id (outcome rows only).
    pub outcome: Option<String>,
    /// Status.
    pub status: RollupStatus,
    /// Score 0..100 (ok only).
    pub score: Option<f64>,
    /// Level 1..5 (ok only).
    pub level: Option<i64>,
    /// Weight of scored ok KPIs over the weight of applicable ones (null when none applies).
    pub coverage: Option<f64>,
    /// The most restrictive level of the KPIs that fed it.
    pub disclosure: Disclosure,
}

/// One row of `peer_stats`.
#[derive(Debug, Clone, PartialEq)]
pub struct PeerRow {
    /// Indicator id.
    pub indicator: String,
    /// `global`, `region` or `income_group`.
    pub group_kind: &'static str,
    /// The region or income group id; `all` for global.
    pub group: String,
    /// Members of the group with status ok.
    pub n: i64,
    /// Statistics; all null when `n` is below the minimum group size.
    pub stats: Option<PeerStats>,
}

/// Summary statistics of a peer group (type-7 percentiles).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PeerStats {
    /// Mean.
    pub mean: f64,
    /// Median.
    pub median: f64,
    /// 25th percentile.
    pub p25: f64,
    /// 75th percentile.
    pub p75: f64,
    /// Minimum.
    pub min: f64,
    /// Maximum.
    pub max: f64,
}

/// Every result table of a run, for one audience (or all of them, before filtering).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResultTables {
    /// `indicator_values`, sorted by member, dimension, outcome, indicator.
    pub indicators: Vec<IndicatorRow>,
    /// `outcome_scores`, sorted by member, dimension, outcome.
    pub outcomes: Vec<ScoreRow>,
    /// `dimension_scores`, sorted by member, dimension (`overall` included).
    pub dimensions: Vec<ScoreRow>,
    /// `peer_stats`, sorted by indicator, group kind, group: for all members' values (the
    /// `secretariat` audience's), or, after [`ResultTables::for_audience`], that audience's.
    pub peers: Vec<PeerRow>,
    /// Each audience's peer statistics, computed only from the values it may see (so a `min`,
    /// `max` or median never reveals a hidden value).
    pub peers_by_audience: Vec<(Disclosure, Vec<PeerRow>)>,
}

impl ResultTables {
    /// Puts every table in its published order (see each field).
    pub fn sort(&mut self) {
        self.indicators.sort_by(|a, b| {
            (&a.member, &a.dimension, &a.outcome, &a.indicator).cmp(&(
                &b.member,
                &b.dimension,
                &b.outcome,
                &b.indicator,
            ))
        });
        self.outcomes.sort_by(|a, b| {
            (&a.member, &a.dimension, &a.outcome).cmp(&(&b.member, &b.dimension, &b.outcome))
        });
        self.dimensions
            .sort_by(|a, b| (&a.member, &a.dimension).cmp(&(&b.member, &b.dimension)));
        let order = |a: &PeerRow, b: &PeerRow| {
            (&a.indicator, a.group_kind, &a.group).cmp(&(&b.indicator, b.group_kind, &b.group))
        };
        self.peers.sort_by(order);
        for (_, peers) in &mut self.peers_by_audience {
            peers.sort_by(order);
        }
    }

    /// The tables an audience may see: rows disclosed at its level or below, and the peer
    /// statistics of the values it may see.
    pub fn for_audience(&self, audience: Disclosure) -> ResultTables {
        let peers = self
            .peers_by_audience
            .iter()
            .find(|(a, _)| *a == audience)
            .map(|(_, p)| p.clone())
            // Tables made without them: only the secretariat may see statistics of all values.
            .unwrap_or_else(|| {
                if audience == Disclosure::Secretariat {
                    self.peers.clone()
                } else {
                    Vec::new()
                }
            });
        ResultTables {
            indicators: self
                .indicators
                .iter()
                .filter(|r| audience.may_see(r.disclosure))
                .cloned()
                .collect(),
            outcomes: self
                .outcomes
                .iter()
                .filter(|r| audience.may_see(r.disclosure))
                .cloned()
                .collect(),
            dimensions: self
                .dimensions
                .iter()
                .filter(|r| audience.may_see(r.disclosure))
                .cloned()
                .collect(),
            peers_by_audience: vec![(audience, peers.clone())],
            peers,
        }
    }
}
