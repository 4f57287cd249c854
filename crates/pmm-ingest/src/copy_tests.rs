//! Staging Parquet by copying chunks, against the path it replaces (every valid row decoded
//! and encoded again): for files as members' tools write them (dictionary and plain pages,
//! optional and required columns, several row groups, other codecs and time units, invalid
//! rows in some groups, statistics that lie, a damaged page), both give the same acceptance,
//! the same issues, the same staged rows and the same answers from DataFusion, to the bit;
//! and the copy path does copy where it can.
//!
//! Why one file of this length (about 620 lines): the files a member's tools write are made
//! here, beside the comparison that runs each both ways, so a case reads as one unit.

use std::sync::Arc;

use bytes::Bytes;
use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Float64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
    TimestampMillisecondArray,
};
use datafusion::arrow::compute::{cast, concat_batches};
use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::metadata::{
    ColumnChunkMetaData, ParquetMetaData, ParquetMetaDataReader, ParquetMetaDataWriter,
    RowGroupMetaData,
};
use datafusion::parquet::file::properties::{EnabledStatistics, WriterProperties};
use datafusion::parquet::file::statistics::{Statistics, ValueStatistics};
use datafusion::prelude::{SessionConfig, SessionContext};
use object_store::ObjectStoreExt;
use pmm_catalog::{Catalog, Limits};

use crate::discover::SourceObject;
use crate::parquet_source::read_parquet;
use crate::read::{StagedDataset, StagingJob, memory_staging};
use crate::schema::table_schema;
use crate::stage::StagingArea;
use crate::validate::DatasetOutcome;
use pmm_store::StoreRoot;

const YEAR_START_MICROS: i64 = 1_704_067_200_000_000; // 2024-01-01T00:00:00Z

/// How a member's tool wrote the file.
#[derive(Clone, Copy, Debug)]
struct Writer {
    nullable: bool,
    dictionary: bool,
    compression: Compression,
    rows_per_group: usize,
    /// `lodged_at` in milliseconds (the contract's unit is microseconds).
    millis: bool,
}

/// `rows` declarations; `bad` rows get a flow outside the enum, and row 7 repeats row 3's key
/// when `duplicate`.
fn declarations(rows: usize, bad: &[usize], duplicate: bool, writer: Writer) -> Vec<u8> {
    let ids: Vec<String> = (0..rows)
        .map(|i| {
            if duplicate && i == 7 {
                "D3".to_string()
            } else {
                format!("D{i}")
            }
        })
        .collect();
    let flows: Vec<&str> = (0..rows)
        .map(|i| {
            if bad.contains(&i) {
                "XX"
            } else {
                ["IM", "EX", "TR"][i % 3]
            }
        })
        .collect();
    let lodged: Vec<i64> = (0..rows)
        .map(|i| YEAR_START_MICROS + i as i64 * 61_000_000)
        .collect();
    let lodged_column: ArrayRef = if writer.millis {
        Arc::new(
            TimestampMillisecondArray::from(lodged.iter().map(|v| v / 1000).collect::<Vec<_>>())
                .with_timezone("UTC"),
        )
    } else {
        Arc::new(TimestampMicrosecondArray::from(lodged.clone()).with_timezone("UTC"))
    };
    let released: ArrayRef = Arc::new(
        TimestampMicrosecondArray::from(
            lodged
                .iter()
                .enumerate()
                .map(|(i, v)| (i % 5 != 0).then_some(v + 3_600_000_000))
                .collect::<Vec<_>>(),
        )
        .with_timezone("UTC"),
    );
    let flags = |m: usize| -> ArrayRef {
        Arc::new(BooleanArray::from(
            (0..rows).map(|i| i % m == 0).collect::<Vec<_>>(),
        ))
    };
    let channels: ArrayRef = Arc::new(StringArray::from(
        (0..rows)
            .map(|i| ["green", "yellow", "red"][i % 3])
            .collect::<Vec<_>>(),
    ));
    // Values whose sums depend on their order: a changed row order shows in the last bits.
    let values: ArrayRef = Arc::new(Float64Array::from(
        (0..rows)
            .map(|i| 0.1 * i as f64 + 1e9 * ((i % 7) as f64))
            .collect::<Vec<_>>(),
    ));
    let duty: ArrayRef = Arc::new(Float64Array::from(
        (0..rows)
            .map(|i| (i % 4 != 0).then_some(i as f64 / 3.0))
            .collect::<Vec<_>>(),
    ));
    let offices: ArrayRef = Arc::new(StringArray::from(
        (0..rows)
            .map(|i| (i % 6 != 0).then(|| format!("office {}", i % 11)))
            .collect::<Vec<_>>(),
    ));
    let columns: Vec<(&str, ArrayRef, bool)> = vec![
        ("declaration_id", Arc::new(StringArray::from(ids)), false),
        ("flow", Arc::new(StringArray::from(flows)), false),
        ("lodged_at", lodged_column, false),
        ("released_at", released, true),
        ("electronic", flags(2), false),
        ("standardized", flags(3), false),
        ("pre_arrival", flags(4), false),
        ("channel", channels, false),
        ("aeo", flags(5), false),
        ("ecommerce", flags(6), false),
        ("customs_value", values, false),
        ("duty_assessed", duty, true),
        ("office", offices, true),
    ];
    let schema = Arc::new(Schema::new(
        columns
            .iter()
            .map(|(name, array, optional)| {
                Field::new(
                    *name,
                    array.data_type().clone(),
                    writer.nullable || *optional,
                )
            })
            .collect::<Vec<_>>(),
    ));
    let batch = RecordBatch::try_new(
        schema.clone(),
        columns.into_iter().map(|(_, a, _)| a).collect(),
    )
    .unwrap();
    let props = WriterProperties::builder()
        .set_dictionary_enabled(writer.dictionary)
        .set_compression(writer.compression)
        .set_max_row_group_row_count(Some(writer.rows_per_group))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_data_page_row_count_limit(300)
        .build();
    let mut out = Vec::new();
    let mut w = ArrowWriter::try_new(&mut out, schema, Some(props)).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    out
}

/// The file with every chunk's statistics claiming values none of its rows has (what a
/// reader that prunes by statistics would skip whole).
fn lying_statistics(file: &[u8]) -> Vec<u8> {
    let metadata = footer(file);
    let groups = metadata
        .row_groups()
        .iter()
        .map(|group| {
            let columns = group
                .columns()
                .iter()
                .map(|c| {
                    let lie = match c.column_type() {
                        datafusion::parquet::basic::Type::DOUBLE => Some(Statistics::Double(
                            ValueStatistics::new(Some(-5.0), Some(-1.0), None, Some(0), false),
                        )),
                        datafusion::parquet::basic::Type::INT64 => Some(Statistics::Int64(
                            ValueStatistics::new(Some(1), Some(2), None, Some(0), false),
                        )),
                        _ => c.statistics().cloned(),
                    };
                    let mut builder = c.clone().into_builder();
                    builder = match lie {
                        Some(lie) => builder.set_statistics(lie),
                        None => builder.clear_statistics(),
                    };
                    builder.build().unwrap()
                })
                .collect::<Vec<ColumnChunkMetaData>>();
            RowGroupMetaData::builder(metadata.file_metadata().schema_descr_ptr())
                .set_num_rows(group.num_rows())
                .set_total_byte_size(group.total_byte_size())
                .set_column_metadata(columns)
                .set_file_offset(group.file_offset().unwrap_or(4))
                .build()
                .unwrap()
        })
        .collect::<Vec<_>>();
    let lying = ParquetMetaData::new(metadata.file_metadata().clone(), groups);
    let data_end = file.len()
        - 8
        - u32::from_le_bytes(file[file.len() - 8..file.len() - 4].try_into().unwrap()) as usize;
    let mut out = file[..data_end].to_vec();
    let mut footer = Vec::new();
    ParquetMetaDataWriter::new(&mut footer, &lying)
        .finish()
        .unwrap();
    out.extend_from_slice(&footer);
    out
}

/// The first data page of the second row group's `customs_value` chunk with one byte of its
/// values flipped (past the page header: the page still parses, its values do not match).
fn flipped_page(file: &[u8]) -> Vec<u8> {
    let metadata = footer(file);
    let leaf = metadata
        .file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .position(|c| c.name() == "customs_value")
        .unwrap();
    let (start, length) = metadata.row_group(1).column(leaf).byte_range();
    let mut out = file.to_vec();
    let at = (start + length - 3) as usize;
    out[at] ^= 0x5a;
    out
}

/// What staging a file gave: the outcome, the staged rows (as the table's schema types, in
/// order) and, per staged file, how many row groups kept the member's codec (copied).
struct Staged {
    outcome: DatasetOutcome,
    rows: Option<RecordBatch>,
    copied_groups: usize,
    /// The codecs of the staged chunks (not `member` and `year`), copied or encoded.
    codecs: Vec<Compression>,
    /// Chunks of the staged files that carry statistics.
    with_statistics: usize,
    answers: Vec<String>,
}

async fn stage(file: &[u8], copy: bool) -> Staged {
    stage_in(memory_staging().unwrap(), file, copy).await
}

async fn stage_in(staging: StagingArea, file: &[u8], copy: bool) -> Staged {
    let catalog =
        Catalog::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../indicators"))
            .unwrap();
    let contract = catalog.dataset("declarations").unwrap().clone();
    let source = StoreRoot {
        prefix: staging.root.key("inputs"),
        display: "memory://inputs".into(),
        ..staging.root.clone()
    };
    let key = source.key("member=XA/year=2024/declarations.parquet");
    source
        .store
        .put(&key, Bytes::copy_from_slice(file).into())
        .await
        .unwrap();
    let object = SourceObject::new(source.store.head(&key).await.unwrap(), &source);
    let job = StagingJob {
        staging: staging.clone(),
        contract: contract.clone(),
        member: "XA".into(),
        year: 2024,
        file: object.relative.clone(),
        fingerprint: "f".repeat(64),
        max_invalid_row_fraction: 0.5,
        schema: None,
        copy,
    };
    let staged: StagedDataset = read_parquet(&source, &object, job, Limits::default())
        .await
        .unwrap();
    let table = table_schema(&contract);
    let mut batches = Vec::new();
    let mut copied_groups = 0;
    let mut codecs = Vec::new();
    let mut with_statistics = 0;
    // As the engine plans (pmm-engine's `runtime`): each staged file scanned whole by one
    // partition and never dealt out batch by batch, so its rows are aggregated in file order
    // whatever the file's row groups.
    let ctx = SessionContext::new_with_config(
        SessionConfig::new()
            .with_target_partitions(2)
            .with_repartition_file_scans(false)
            .with_round_robin_repartition(false),
    );
    let mut urls = Vec::new();
    for file in &staged.files {
        let bytes = staging
            .root
            .store
            .get(&staging.root.key(&file.path))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes.clone()).unwrap();
        copied_groups += reader
            .metadata()
            .row_groups()
            .iter()
            .filter(|g| {
                // `member` and `year` are written as constants (uncompressed) in every group.
                let (constants, columns) = g.columns().split_at(2);
                assert!(
                    constants
                        .iter()
                        .all(|c| c.compression() == Compression::UNCOMPRESSED),
                    "member and year as constants"
                );
                // Staging in memory encodes uncompressed and without dictionaries: a chunk
                // in another codec, or with a dictionary page, is the submitted file's.
                columns.iter().any(|c| {
                    c.compression() != Compression::UNCOMPRESSED
                        || c.dictionary_page_offset().is_some()
                })
            })
            .count();
        codecs.extend(
            reader
                .metadata()
                .row_groups()
                .iter()
                .flat_map(|g| &g.columns()[2..])
                .map(|c| c.compression()),
        );
        with_statistics += reader
            .metadata()
            .row_groups()
            .iter()
            .flat_map(|g| g.columns())
            .filter(|c| c.statistics().is_some())
            .count();
        for batch in reader.build().unwrap() {
            batches.push(as_table(&batch.unwrap(), &table));
        }
        urls.push(
            ListingTableUrl::parse(
                staging
                    .root
                    .url
                    .join(staging.root.key(&file.path).as_ref())
                    .unwrap(),
            )
            .unwrap(),
        );
    }
    let mut answers = Vec::new();
    if !urls.is_empty() {
        ctx.register_object_store(&staging.root.url, staging.root.store.clone());
        let options =
            ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
        let config = ListingTableConfig::new_with_multi_paths(urls)
            .with_listing_options(options)
            .with_schema(table.clone());
        ctx.register_table(
            "declarations",
            Arc::new(ListingTable::try_new(config).unwrap()),
        )
        .unwrap();
        for sql in [
            "SELECT count(*), sum(customs_value), sum(duty_assessed), min(lodged_at), max(released_at) FROM declarations",
            "SELECT flow, count(office), sum(customs_value) FROM declarations WHERE customs_value < 1000 GROUP BY flow ORDER BY flow",
            "SELECT count(*) FROM declarations WHERE customs_value < 0",
        ] {
            let frame = ctx.sql(sql).await.unwrap().collect().await.unwrap();
            answers.push(format!(
                "{}",
                datafusion::arrow::util::pretty::pretty_format_batches(&frame).unwrap()
            ));
            // To the bit: the floats' bits, not their printing.
            for batch in frame {
                for column in batch.columns() {
                    if let Some(f) = column.as_any().downcast_ref::<Float64Array>() {
                        answers.push(format!(
                            "{:?}",
                            f.iter().map(|v| v.map(f64::to_bits)).collect::<Vec<_>>()
                        ));
                    }
                }
            }
        }
    }
    let rows = (!batches.is_empty()).then(|| concat_batches(&table, &batches).unwrap());
    Staged {
        outcome: staged.outcome,
        rows,
        copied_groups,
        codecs,
        with_statistics,
        answers,
    }
}

/// A staged batch with the table's types (views and time zone names as the table has them).
fn as_table(batch: &RecordBatch, table: &SchemaRef) -> RecordBatch {
    let columns = table
        .fields()
        .iter()
        .map(|f| {
            let column = batch.column_by_name(f.name()).unwrap();
            if column.data_type() == f.data_type() {
                column.clone()
            } else {
                cast(column, f.data_type()).unwrap()
            }
        })
        .collect();
    RecordBatch::try_new(
        Arc::new(Schema::new(
            table
                .fields()
                .iter()
                .map(|f| f.as_ref().clone().with_nullable(true))
                .collect::<Vec<_>>(),
        )),
        columns,
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copying_chunks_stages_what_encoding_every_row_stages() {
    let pandas = Writer {
        nullable: true,
        dictionary: true,
        compression: Compression::SNAPPY,
        rows_per_group: 1000,
        millis: false,
    };
    let strict = Writer {
        nullable: false,
        dictionary: false,
        compression: Compression::ZSTD(ZstdLevel::default()),
        rows_per_group: 700,
        millis: false,
    };
    let millis = Writer {
        millis: true,
        compression: Compression::UNCOMPRESSED,
        ..pandas
    };
    let one_group = Writer {
        rows_per_group: 1 << 20,
        ..strict
    };
    let clean = declarations(2500, &[], false, pandas);
    // (what, file, whether some row group must be copied, whether every one must)
    let cases: Vec<(&str, Vec<u8>, bool, bool)> = vec![
        (
            "optional columns, dictionaries, snappy",
            clean.clone(),
            true,
            true,
        ),
        (
            "required columns, plain pages, zstd",
            declarations(2500, &[], false, strict),
            true,
            true,
        ),
        (
            "timestamps in milliseconds, uncompressed",
            declarations(2500, &[], false, millis),
            true,
            true,
        ),
        (
            "one group of every row",
            declarations(2500, &[], false, one_group),
            true,
            true,
        ),
        (
            "invalid values in the second group",
            declarations(2500, &[1200, 1999], false, pandas),
            true,
            false,
        ),
        (
            "a repeated key in the first group",
            declarations(2500, &[], true, strict),
            true,
            false,
        ),
        (
            "invalid values in every group",
            declarations(2500, &[5, 1005, 2005], false, pandas),
            false,
            false,
        ),
        ("statistics that lie", lying_statistics(&clean), true, true),
        (
            "a flipped byte in a page",
            flipped_page(&declarations(2500, &[], false, strict)),
            false,
            false,
        ),
    ];
    for (what, file, some, all) in cases {
        let copied = stage(&file, true).await;
        let encoded = stage(&file, false).await;
        assert_eq!(copied.outcome.accepted, encoded.outcome.accepted, "{what}");
        assert_eq!(
            copied.outcome.rows_read, encoded.outcome.rows_read,
            "{what}"
        );
        assert_eq!(
            copied.outcome.rows_invalid, encoded.outcome.rows_invalid,
            "{what}"
        );
        assert_eq!(copied.outcome.issues, encoded.outcome.issues, "{what}");
        assert_eq!(copied.rows, encoded.rows, "{what}: the staged rows");
        assert_eq!(
            copied.answers, encoded.answers,
            "{what}: DataFusion's answers"
        );
        assert_eq!(
            encoded.copied_groups, 0,
            "{what}: nothing copied when copying is off"
        );
        assert_eq!(
            copied.copied_groups > 0,
            some,
            "{what}: {} groups copied",
            copied.copied_groups
        );
        if all {
            assert!(
                copied.outcome.accepted && copied.outcome.rows_invalid == 0,
                "{what}"
            );
            let per_group = file_groups(&file);
            assert_eq!(
                copied.copied_groups, per_group,
                "{what}: every group copied"
            );
        }
        assert_eq!(copied.with_statistics, 0, "{what}: no statistics staged");
    }
}

fn file_groups(file: &[u8]) -> usize {
    footer(file).num_row_groups()
}

/// A Parquet file's decoded footer.
fn footer(file: &[u8]) -> ParquetMetaData {
    ParquetMetaDataReader::new()
        .parse_and_finish(&Bytes::copy_from_slice(file))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_staged_copy_carries_no_statistics_of_the_member() {
    let file = lying_statistics(&declarations(
        1500,
        &[],
        false,
        Writer {
            nullable: true,
            dictionary: true,
            compression: Compression::SNAPPY,
            rows_per_group: 1000,
            millis: false,
        },
    ));
    let staged = stage(&file, true).await;
    assert_eq!(staged.copied_groups, 2);
    assert_eq!(staged.with_statistics, 0);
    // The lie says every customs value is below zero, and every time is in 1970: a reader
    // that trusted it would skip every row of the first query's filter, or none of the last.
    assert!(
        staged.answers[0].contains("| 1500 "),
        "{}",
        staged.answers[0]
    );
    let last = staged.answers.last().unwrap();
    assert!(last.contains("| 0 "), "{last}");
}

/// Staged data is encoded uncompressed on this machine (a folder, memory) and in LZ4 on a
/// cloud store, and reads the same either way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staging_compresses_on_a_cloud_store_only() {
    let writer = Writer {
        nullable: true,
        dictionary: false,
        compression: Compression::SNAPPY,
        rows_per_group: 1000,
        millis: false,
    };
    let file = declarations(1500, &[], false, writer);
    let local = memory_staging().unwrap();
    // The same memory, named as a bucket: staging takes it for a cloud store.
    let mut cloud = local.clone();
    cloud.root.url = url::Url::parse("s3://bucket").unwrap();
    let here = stage_in(local, &file, false).await;
    let there = stage_in(cloud, &file, false).await;
    assert!(!here.codecs.is_empty());
    assert!(here.codecs.iter().all(|c| *c == Compression::UNCOMPRESSED));
    assert!(!there.codecs.is_empty());
    assert!(there.codecs.iter().all(|c| *c == Compression::LZ4_RAW));
    assert_eq!(here.rows, there.rows);
    assert_eq!(here.answers, there.answers);
}
