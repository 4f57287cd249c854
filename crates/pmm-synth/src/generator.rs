//! One member's files for both years: its profile (what makes its scores its own), its own
//! random stream, the format of each file, its manifest, and its fault when faults are on.

use crate::datasets::{
    aeo_operators, audits, controls, declarations, info_requests, revenue, seizures, staff,
};
use crate::encode::{FileKind, encode, spoil_csv};
use crate::faults::{Fault, fault_of, plant};
use crate::{Error, FormatChoice, Result, SynthOptions, member_code};

/// A file made in memory: its path under the output folder and its bytes.
type MadeFile = (String, Vec<u8>);

/// Every file of one member (both years), as (path, bytes), and the rows they hold. Pure and
/// deterministic: members are made in parallel and written in any order.
pub(crate) fn member_files(i: usize, options: &SynthOptions) -> Result<(Vec<MadeFile>, u64)> {
    let mut files = Vec::new();
    let mut rows = 0u64;
    let code = member_code(i);
    let profile = Profile::new(&mut Rng::new(options.seed, &[i as u64, 1]));
    let fault = fault_of(i, options.faults);
    for offset in 0..options.years.max(1) as u64 {
        let year = options.year - offset as i32;
        if fault == Some(Fault::NoPriorYear) && offset == 1 {
            continue;
        }
        let folder = format!("submissions/member={code}/year={year}");
        let scale = 0.95f64.powi(offset as i32);
        let n = (options.declarations as f64 * scale).round() as usize;
        let mut rng = Rng::new(options.seed, &[i as u64, 2 + offset]);
        let batches = [
            ("declarations", declarations(&mut rng, &profile, year, n)),
            ("aeo_operators", aeo_operators(&mut rng, &profile, year)),
            ("seizures", seizures(&mut rng, &profile, year, n / 100 + 5)),
            ("controls", controls(&mut rng, &profile, year, n / 20 + 20)),
            ("audits", audits(&mut rng, &profile, year)),
            ("revenue", revenue(&mut rng, &profile, year)),
            ("info_requests", info_requests(&mut rng, &profile, year)),
            ("staff", staff(&mut rng, &profile, year, n)),
        ];
        for (d, (dataset, batch)) in batches.into_iter().enumerate() {
            let batch = batch
                .and_then(|b| match offset {
                    0 => plant(fault, dataset, b),
                    _ => Ok(b),
                })
                .map_err(|e| Error::Internal(e.to_string()))?;
            rows += batch.num_rows() as u64;
            let mut format = match options.format {
                FormatChoice::Csv => FileKind::Csv,
                FormatChoice::Parquet => FileKind::Parquet,
                FormatChoice::Mixed if dataset == "declarations" => {
                    [FileKind::Csv, FileKind::Parquet][i % 2]
                }
                FormatChoice::Mixed => [
                    FileKind::Csv,
                    FileKind::Parquet,
                    FileKind::CsvGz,
                    FileKind::Jsonl,
                ][(i + d) % 4],
            };
            let mut data = encode(&batch, format)?;
            if offset == 0 {
                match (fault, dataset) {
                    (Some(Fault::TooManyInvalidRows), "declarations") => {
                        format = FileKind::Csv;
                        data = spoil_csv(
                            &encode(&batch, FileKind::Csv)?,
                            10,
                            &[",IM,", ",EX,", ",TR,"],
                            ",XX,",
                        );
                    }
                    (Some(Fault::SameDatasetTwice), "seizures") => {
                        files.push((
                            format!("{folder}/seizures.csv"),
                            encode(&batch, FileKind::Csv)?,
                        ));
                        format = FileKind::Parquet;
                        data = encode(&batch, FileKind::Parquet)?;
                    }
                    (Some(Fault::FewInvalidDates), "controls") => {
                        format = FileKind::Csv;
                        data = spoil_csv(
                            &encode(&batch, FileKind::Csv)?,
                            20,
                            &[&format!(",{year}-")],
                            ",31/02/",
                        );
                    }
                    (Some(Fault::CorruptGzip), "revenue") => {
                        format = FileKind::CsvGz;
                        let whole = encode(&batch, FileKind::CsvGz)?;
                        data = whole[..whole.len() / 2].to_vec();
                    }
                    _ => {}
                }
            }
            files.push((format!("{folder}/{dataset}.{}", format.extension()), data));
        }
        if let Some(manifest) = manifest(&code, i, year, options, fault) {
            files.push((format!("{folder}/manifest.yaml"), manifest.into_bytes()));
        }
    }
    Ok((files, rows))
}

/// The member's manifest for `year`, when it has one: an assessment for some, KPIs declared
/// not applicable for others, and a disclosure choice.
fn manifest(
    code: &str,
    i: usize,
    year: i32,
    options: &SynthOptions,
    fault: Option<Fault>,
) -> Option<String> {
    let wrong_member = fault == Some(Fault::ManifestNamesAnotherMember) && year == options.year;
    let member = if wrong_member {
        member_code(0)
    } else {
        code.to_string()
    };
    let mut text = format!("member: {member}\nyear: {year}\n");
    if i % 4 == 1 {
        text.push_str("assessment: peer_reviewed\n");
    }
    let na = fault == Some(Fault::DeclaredNotApplicable) || i % 5 == 4;
    if na {
        text.push_str("not_applicable:\n  - indicator: tfec.ecommerce_shipment_share\n    reason: e-commerce consignments are not flagged in our clearance system\n");
        text.push_str("  - indicator: tfec.ecommerce_release_time_median_hours\n    reason: e-commerce consignments are not flagged in our clearance system\n");
    }
    if fault == Some(Fault::LostFeed) && year == options.year {
        // The member explains the drop before the review raises it.
        text.push_str("explanations:\n  - subject: info_requests\n    text: the regional offices' requests were not exported after the system migration; they will be sent again\n");
    }
    match i % 3 {
        0 => text.push_str("disclosure:\n  default: public\n"),
        1 if !(na || wrong_member) => return None,
        _ => text.push_str(
            "disclosure:\n  default: wco\n  overrides:\n    tfec.electronic_declarations_rate: public\n    rc.arrears_ratio: secretariat\n",
        ),
    }
    Some(text)
}

/// SplitMix64: small, fast, and the same on every machine.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64, stream: &[u64]) -> Self {
        let mut state = seed ^ 0x5851_F42D_4C95_7F2D;
        for s in stream {
            state = Rng(state ^ s.wrapping_mul(0x9E37_79B9_7F4A_7C15)).next();
        }
        Rng(state)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    pub(crate) fn between(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.unit()
    }

    /// Standard normal (Box-Muller).
    pub(crate) fn normal(&mut self) -> f64 {
        let u = self.unit().max(1e-12);
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    pub(crate) fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        median * (sigma * self.normal()).exp()
    }
}

/// How one member's administration behaves: what makes its scores its own.
pub(crate) struct Profile {
    pub(crate) electronic: f64,
    pub(crate) standardized: f64,
    pub(crate) pre_arrival: f64,
    pub(crate) green: f64,
    pub(crate) red: f64,
    pub(crate) aeo: f64,
    pub(crate) ecommerce: f64,
    pub(crate) release_hours: f64,
    pub(crate) hit_rate: f64,
    pub(crate) collection: f64,
    pub(crate) response_days: f64,
    pub(crate) training: f64,
    /// Typical row counts of the datasets whose size does not follow the declarations: a
    /// member's registers and caseloads are about the same size from one year to the next.
    pub(crate) sizes: Sizes,
}

/// A member's usual yearly row counts; each year draws its own within 10 % of them.
pub(crate) struct Sizes {
    pub(crate) aeo_operators: usize,
    pub(crate) audits: usize,
    pub(crate) info_requests: usize,
    pub(crate) staff_units: usize,
}

impl Sizes {
    /// About `usual` rows (within 10 %) for one year.
    pub(crate) fn year(rng: &mut Rng, usual: usize) -> usize {
        ((usual as f64) * rng.between(0.9, 1.1)).round().max(1.0) as usize
    }
}

impl Profile {
    pub(crate) fn new(rng: &mut Rng) -> Self {
        let green = rng.between(0.3, 0.92);
        let mut profile = Profile {
            electronic: rng.between(0.45, 1.0),
            standardized: rng.between(0.1, 0.98),
            pre_arrival: rng.between(0.0, 0.85),
            green,
            red: rng.between(0.01, (1.0 - green).min(0.4)),
            aeo: rng.between(0.05, 0.75),
            ecommerce: rng.between(0.02, 0.4),
            release_hours: rng.lognormal(12.0, 0.9).clamp(1.0, 150.0),
            hit_rate: rng.between(0.02, 0.5),
            collection: rng.between(0.82, 1.0),
            response_days: rng.lognormal(40.0, 0.6),
            training: rng.between(3.0, 70.0),
            sizes: Sizes {
                aeo_operators: 0,
                audits: 0,
                info_requests: 0,
                staff_units: 0,
            },
        };
        // Drawn after the rest so the other traits keep the values earlier versions gave.
        profile.sizes = Sizes {
            aeo_operators: (50.0 + 600.0 * profile.aeo) as usize + rng.below(50) as usize,
            audits: 30 + rng.below(250) as usize,
            info_requests: 120 + rng.below(200) as usize,
            staff_units: 8 + rng.below(30) as usize,
        };
        profile
    }
}
