//! Each dataset's rows for one member and year, built as a typed Arrow batch from the
//! member's profile and random stream. One function per dataset, in the catalog's terms.

use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Date32Type, Field, Schema, TimeUnit};

use crate::generator::{Profile, Rng, Sizes};

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Days since 1970-01-01 (Arrow's `Date32`) of a calendar date.
fn days_from_civil(year: i32, month: u32, day: u32) -> i32 {
    NaiveDate::from_ymd_opt(year, month, day).map_or(0, Date32Type::from_naive_date)
}

fn year_days(year: i32) -> (i32, i32) {
    let start = days_from_civil(year, 1, 1);
    (start, days_from_civil(year + 1, 1, 1) - start)
}

fn text(values: Vec<String>) -> ArrayRef {
    Arc::new(StringArray::from(values))
}

fn opt_text(values: Vec<Option<String>>) -> ArrayRef {
    Arc::new(StringArray::from(values))
}

fn pick<'a>(rng: &mut Rng, choices: &[(&'a str, f64)]) -> &'a str {
    let mut x = rng.unit() * choices.iter().map(|c| c.1).sum::<f64>();
    for (value, weight) in choices {
        if x < *weight {
            return value;
        }
        x -= weight;
    }
    choices[choices.len() - 1].0
}

fn batch(
    fields: Vec<(&str, DataType, bool)>,
    columns: Vec<ArrayRef>,
) -> Result<RecordBatch, datafusion::arrow::error::ArrowError> {
    let schema = Schema::new(
        fields
            .into_iter()
            .map(|(n, t, null)| Field::new(n, t, null))
            .collect::<Vec<_>>(),
    );
    RecordBatch::try_new(Arc::new(schema), columns)
}

pub(crate) type Batch = Result<RecordBatch, datafusion::arrow::error::ArrowError>;

fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

pub(crate) fn declarations(rng: &mut Rng, p: &Profile, year: i32, n: usize) -> Batch {
    let (start, days) = year_days(year);
    let mut ids = Vec::with_capacity(n);
    let (mut flow, mut lodged, mut released) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut electronic, mut standardized, mut pre_arrival) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut channel, mut aeo, mut ecommerce) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut value, mut duty, mut office, mut mode) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for i in 0..n {
        ids.push(format!("D{year}-{i:08}"));
        let f = pick(rng, &[("IM", 0.55), ("EX", 0.35), ("TR", 0.10)]);
        flow.push(f.to_string());
        let day = i64::from(start) + rng.below(days as u64) as i64;
        let at = day * MICROS_PER_DAY + rng.below(86_400) as i64 * 1_000_000;
        lodged.push(at);
        let hours = rng.lognormal(p.release_hours, 1.0).clamp(0.05, 2000.0);
        released.push(
            rng.chance(0.97)
                .then(|| at + (hours * 3_600.0).round() as i64 * 1_000_000),
        );
        electronic.push(rng.chance(p.electronic));
        standardized.push(rng.chance(p.standardized));
        pre_arrival.push(rng.chance(p.pre_arrival));
        let c = rng.unit();
        channel.push(
            if c < p.green {
                "green"
            } else if c < p.green + p.red {
                "red"
            } else {
                "yellow"
            }
            .to_string(),
        );
        aeo.push(rng.chance(p.aeo));
        ecommerce.push(rng.chance(p.ecommerce));
        let v = (rng.lognormal(3000.0, 1.4) * 100.0).round() / 100.0;
        value.push(v);
        duty.push(
            rng.chance(0.9)
                .then(|| (v * rng.between(0.0, 0.15) * 100.0).round() / 100.0),
        );
        office.push(
            rng.chance(0.95)
                .then(|| format!("OFF{:02}", rng.below(20) + 1)),
        );
        mode.push(rng.chance(0.9).then(|| {
            pick(
                rng,
                &[
                    ("sea", 0.4),
                    ("air", 0.2),
                    ("road", 0.25),
                    ("rail", 0.05),
                    ("post", 0.07),
                    ("other", 0.03),
                ],
            )
            .to_string()
        }));
    }
    let ts = || timestamp_type();
    batch(
        vec![
            ("declaration_id", DataType::Utf8, false),
            ("flow", DataType::Utf8, false),
            ("lodged_at", ts(), false),
            ("released_at", ts(), true),
            ("electronic", DataType::Boolean, false),
            ("standardized", DataType::Boolean, false),
            ("pre_arrival", DataType::Boolean, false),
            ("channel", DataType::Utf8, false),
            ("aeo", DataType::Boolean, false),
            ("ecommerce", DataType::Boolean, false),
            ("customs_value", DataType::Float64, false),
            ("duty_assessed", DataType::Float64, true),
            ("office", DataType::Utf8, true),
            ("transport_mode", DataType::Utf8, true),
        ],
        vec![
            text(ids),
            text(flow),
            Arc::new(TimestampMicrosecondArray::from(lodged).with_timezone("UTC")),
            Arc::new(TimestampMicrosecondArray::from(released).with_timezone("UTC")),
            Arc::new(BooleanArray::from(electronic)),
            Arc::new(BooleanArray::from(standardized)),
            Arc::new(BooleanArray::from(pre_arrival)),
            text(channel),
            Arc::new(BooleanArray::from(aeo)),
            Arc::new(BooleanArray::from(ecommerce)),
            Arc::new(Float64Array::from(value)),
            Arc::new(Float64Array::from(duty)),
            opt_text(office),
            opt_text(mode),
        ],
    )
}

pub(crate) fn aeo_operators(rng: &mut Rng, p: &Profile, year: i32) -> Batch {
    let n = Sizes::year(rng, p.sizes.aeo_operators);
    let first = days_from_civil(2012, 1, 1);
    let end = days_from_civil(year + 1, 1, 1);
    let (mut ids, mut role, mut granted, mut revoked, mut sme) =
        (vec![], vec![], vec![], vec![], vec![]);
    for i in 0..n {
        ids.push(format!("OP{i:06}"));
        role.push(
            pick(
                rng,
                &[
                    ("importer", 0.35),
                    ("exporter", 0.25),
                    ("broker", 0.15),
                    ("carrier", 0.1),
                    ("warehouse", 0.05),
                    ("manufacturer", 0.07),
                    ("other", 0.03),
                ],
            )
            .to_string(),
        );
        // Registers grow: recent grants are more frequent.
        let g = first + ((end - first) as f64 * rng.unit().sqrt()) as i32;
        granted.push(g);
        revoked.push(
            rng.chance(0.12)
                .then(|| g + 1 + rng.below((end - g).max(1) as u64 + 200) as i32),
        );
        sme.push(rng.chance(0.9).then(|| rng.chance(0.4)));
    }
    batch(
        vec![
            ("operator_id", DataType::Utf8, false),
            ("role", DataType::Utf8, false),
            ("granted_on", DataType::Date32, false),
            ("revoked_on", DataType::Date32, true),
            ("sme", DataType::Boolean, true),
        ],
        vec![
            text(ids),
            text(role),
            Arc::new(Date32Array::from(granted)),
            Arc::new(Date32Array::from(revoked)),
            Arc::new(BooleanArray::from(sme)),
        ],
    )
}

pub(crate) fn seizures(rng: &mut Rng, _p: &Profile, year: i32, n: usize) -> Batch {
    let (start, days) = year_days(year);
    let (mut ids, mut on, mut category, mut quantity, mut unit, mut value) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for i in 0..n {
        ids.push(format!("S{year}-{i:06}"));
        on.push(start + rng.below(days as u64) as i32);
        let c = pick(
            rng,
            &[
                ("drugs", 0.25),
                ("alcohol", 0.15),
                ("tobacco", 0.2),
                ("ipr", 0.15),
                ("cites", 0.05),
                ("cash", 0.08),
                ("weapons", 0.04),
                ("other", 0.08),
            ],
        );
        category.push(c.to_string());
        quantity.push((rng.lognormal(20.0, 1.5) * 10.0).round() / 10.0);
        unit.push(
            match c {
                "alcohol" => "l",
                "tobacco" => "sticks",
                "ipr" | "weapons" => "pieces",
                "drugs" => "kg",
                _ => "other",
            }
            .to_string(),
        );
        value.push(
            rng.chance(0.8)
                .then(|| (rng.lognormal(5000.0, 1.5)).round()),
        );
    }
    batch(
        vec![
            ("seizure_id", DataType::Utf8, false),
            ("seized_on", DataType::Date32, false),
            ("category", DataType::Utf8, false),
            ("quantity", DataType::Float64, false),
            ("unit", DataType::Utf8, false),
            ("estimated_value", DataType::Float64, true),
        ],
        vec![
            text(ids),
            Arc::new(Date32Array::from(on)),
            text(category),
            Arc::new(Float64Array::from(quantity)),
            text(unit),
            Arc::new(Float64Array::from(value)),
        ],
    )
}

pub(crate) fn controls(rng: &mut Rng, p: &Profile, year: i32, n: usize) -> Batch {
    let (start, days) = year_days(year);
    let (mut ids, mut on, mut target, mut selection, mut result) =
        (vec![], vec![], vec![], vec![], vec![]);
    for i in 0..n {
        ids.push(format!("C{year}-{i:07}"));
        on.push(start + rng.below(days as u64) as i32);
        target.push(
            pick(
                rng,
                &[
                    ("drugs", 0.2),
                    ("alcohol", 0.08),
                    ("tobacco", 0.1),
                    ("ipr", 0.1),
                    ("cites", 0.02),
                    ("cash", 0.05),
                    ("weapons", 0.03),
                    ("revenue", 0.3),
                    ("security", 0.07),
                    ("other", 0.05),
                ],
            )
            .to_string(),
        );
        let s = pick(
            rng,
            &[
                ("risk_profile", 0.6),
                ("random", 0.2),
                ("intelligence", 0.15),
                ("other", 0.05),
            ],
        );
        selection.push(s.to_string());
        let hit = match s {
            "risk_profile" => p.hit_rate,
            "intelligence" => (p.hit_rate * 1.5).min(0.9),
            _ => p.hit_rate / 5.0,
        };
        result.push(
            if rng.chance(hit) {
                if rng.chance(0.4) {
                    "seizure"
                } else {
                    "irregularity"
                }
            } else {
                "no_finding"
            }
            .to_string(),
        );
    }
    batch(
        vec![
            ("control_id", DataType::Utf8, false),
            ("controlled_on", DataType::Date32, false),
            ("target", DataType::Utf8, false),
            ("selection", DataType::Utf8, false),
            ("result", DataType::Utf8, false),
        ],
        vec![
            text(ids),
            Arc::new(Date32Array::from(on)),
            text(target),
            text(selection),
            text(result),
        ],
    )
}

pub(crate) fn audits(rng: &mut Rng, p: &Profile, year: i32) -> Batch {
    let n = Sizes::year(rng, p.sizes.audits);
    let (start, days) = year_days(year);
    let (mut ids, mut opened, mut closed, mut irregular, mut extra) =
        (vec![], vec![], vec![], vec![], vec![]);
    for i in 0..n {
        ids.push(format!("A{year}-{i:05}"));
        let o = start - 200 + rng.below(days as u64 + 200) as i32;
        opened.push(o);
        let c = rng
            .chance(0.7)
            .then(|| o.max(start) + rng.below(120) as i32)
            .filter(|c| *c < start + days);
        closed.push(c);
        irregular.push(c.map(|_| rng.chance(p.hit_rate + 0.2)));
        extra.push(c.and_then(|_| {
            rng.chance(0.8)
                .then(|| rng.lognormal(20_000.0, 1.2).round())
        }));
    }
    batch(
        vec![
            ("audit_id", DataType::Utf8, false),
            ("opened_on", DataType::Date32, false),
            ("closed_on", DataType::Date32, true),
            ("irregularity", DataType::Boolean, true),
            ("additional_revenue", DataType::Float64, true),
        ],
        vec![
            text(ids),
            Arc::new(Date32Array::from(opened)),
            Arc::new(Date32Array::from(closed)),
            Arc::new(BooleanArray::from(irregular)),
            Arc::new(Float64Array::from(extra)),
        ],
    )
}

pub(crate) fn revenue(rng: &mut Rng, p: &Profile, year: i32) -> Batch {
    let (mut month, mut kind, mut assessed, mut collected, mut arrears) =
        (vec![], vec![], vec![], vec![], vec![]);
    for m in 1..=12 {
        for k in ["customs_duty", "vat", "excise", "other"] {
            month.push(days_from_civil(year, m, 1));
            kind.push(k.to_string());
            let a = rng.lognormal(2_000_000.0, 0.5).round();
            assessed.push(a);
            collected.push((a * (p.collection * rng.between(0.97, 1.0))).round());
            arrears.push(
                rng.chance(0.95)
                    .then(|| (a * (1.0 - p.collection) * rng.between(1.0, 3.0)).round()),
            );
        }
    }
    batch(
        vec![
            ("month", DataType::Date32, false),
            ("revenue_type", DataType::Utf8, false),
            ("assessed", DataType::Float64, false),
            ("collected", DataType::Float64, false),
            ("arrears_end", DataType::Float64, true),
        ],
        vec![
            Arc::new(Date32Array::from(month)),
            text(kind),
            Arc::new(Float64Array::from(assessed)),
            Arc::new(Float64Array::from(collected)),
            Arc::new(Float64Array::from(arrears)),
        ],
    )
}

pub(crate) fn info_requests(rng: &mut Rng, p: &Profile, year: i32) -> Batch {
    let n = Sizes::year(rng, p.sizes.info_requests);
    let (start, days) = year_days(year);
    let (mut ids, mut direction, mut sent, mut answered) = (vec![], vec![], vec![], vec![]);
    for i in 0..n {
        ids.push(format!("R{year}-{i:05}"));
        direction.push(if rng.chance(0.5) { "sent" } else { "received" }.to_string());
        let s = start + rng.below(days as u64) as i32;
        sent.push(s);
        answered.push(
            rng.chance(0.85)
                .then(|| s + rng.lognormal(p.response_days, 0.7).round() as i32),
        );
    }
    batch(
        vec![
            ("request_id", DataType::Utf8, false),
            ("direction", DataType::Utf8, false),
            ("sent_on", DataType::Date32, false),
            ("answered_on", DataType::Date32, true),
        ],
        vec![
            text(ids),
            text(direction),
            Arc::new(Date32Array::from(sent)),
            Arc::new(Date32Array::from(answered)),
        ],
    )
}

pub(crate) fn staff(rng: &mut Rng, p: &Profile, _year: i32, declarations: usize) -> Batch {
    let units = p.sizes.staff_units;
    // Staff in proportion to the workload, so declarations per staff stays plausible.
    let per_unit = ((declarations as f64 / 800.0) / units as f64).max(3.0);
    let (mut unit, mut headcount, mut female, mut training, mut integrity, mut budget) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for u in 0..units {
        unit.push(format!("UNIT{u:03}"));
        let h = (per_unit * rng.between(0.5, 1.5)).round().max(1.0) as i64;
        headcount.push(h);
        female.push((h as f64 * rng.between(0.2, 0.6)).round() as i64);
        training.push((h as f64 * p.training * rng.between(0.7, 1.3)).round());
        integrity.push(rng.below(3) as i64);
        budget.push(
            rng.chance(0.9)
                .then(|| (h as f64 * rng.lognormal(30_000.0, 0.3)).round()),
        );
    }
    batch(
        vec![
            ("unit", DataType::Utf8, false),
            ("headcount", DataType::Int64, false),
            ("female_headcount", DataType::Int64, false),
            ("training_hours", DataType::Float64, false),
            ("integrity_cases", DataType::Int64, false),
            ("budget", DataType::Float64, true),
        ],
        vec![
            text(unit),
            Arc::new(Int64Array::from(headcount)),
            Arc::new(Int64Array::from(female)),
            Arc::new(Float64Array::from(training)),
            Arc::new(Int64Array::from(integrity)),
            Arc::new(Float64Array::from(budget)),
        ],
    )
}
