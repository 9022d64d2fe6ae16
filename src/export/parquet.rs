//! Training records as Parquet (verl's trainers read Parquet): the same
//! fields as the JSONL records, nested as verl lays them out. Records are
//! buffered and written a row group at a time; `finish` writes what is
//! buffered and the footer, so a run stopped by a failing seed still leaves
//! a valid file. Case JSON is kept as text (Parquet has no JSON type), so
//! big integers stay exact.
//!
//! The schema is the one InternBootcamp's converter gets from pandas
//! (`DataFrame.to_parquet`): every field nullable, the nested strings
//! `string`, and the top-level string columns `large_string` under pandas 3
//! (its string dtype) or `string` under pandas 2 ([`PandasLike`]). verl and
//! `datasets` concatenate files only when these match exactly (checked with
//! pyarrow 26 and datasets' `concatenate_datasets`); the list's child field
//! name does not matter (readers rename it).

use std::fs::File;
use std::sync::Arc;

use anyhow::{Context, Result};
use arrow_array::builder::{ListBuilder, StringBuilder, StructBuilder};
use arrow_array::{ArrayRef, Int64Array, LargeStringArray, RecordBatch, StringArray, StructArray};
use arrow_schema::{DataType, Field, Fields, Schema};
use parquet::arrow::ArrowWriter;

use super::generate::{Format, PandasLike, Record, Sink};

/// Records per row group.
const ROW_GROUP: usize = 10_000;

#[derive(Default)]
struct Rows {
    source: Vec<String>,
    prompt: Vec<String>,
    case: Vec<String>,
    split: Vec<String>,
    index: Vec<i64>,
}

fn strings(values: &[String]) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(values))
}

/// A top-level string column, typed as pandas writes it.
fn top_strings(like: PandasLike, values: &[String]) -> ArrayRef {
    match like {
        PandasLike::Pandas3 => Arc::new(LargeStringArray::from_iter_values(values)),
        PandasLike::Pandas2 => strings(values),
    }
}

fn structure(columns: Vec<(&str, ArrayRef)>) -> ArrayRef {
    let pairs: Vec<(Arc<Field>, ArrayRef)> = columns
        .into_iter()
        .map(|(name, array)| {
            (
                Arc::new(Field::new(name, array.data_type().clone(), true)),
                array,
            )
        })
        .collect();
    Arc::new(StructArray::from(pairs))
}

/// The rows as one batch in `format`'s layout (an empty batch gives the
/// schema).
fn batch(format: Format, like: PandasLike, rows: &Rows) -> Result<RecordBatch> {
    let columns: Vec<(&str, ArrayRef)> = match format {
        Format::Internbootcamp => vec![
            ("data_source", top_strings(like, &rows.source)),
            ("prompt", top_strings(like, &rows.prompt)),
            ("ground_truth", top_strings(like, &rows.case)),
        ],
        Format::Verl => {
            let fields = Fields::from(vec![
                Field::new("role", DataType::Utf8, true),
                Field::new("content", DataType::Utf8, true),
            ]);
            let mut list = ListBuilder::new(StructBuilder::from_fields(fields, rows.prompt.len()));
            for prompt in &rows.prompt {
                let message = list.values();
                message
                    .field_builder::<StringBuilder>(0)
                    .context("role column")?
                    .append_value("user");
                message
                    .field_builder::<StringBuilder>(1)
                    .context("content column")?
                    .append_value(prompt);
                message.append(true);
                list.append(true);
            }
            let n = rows.prompt.len();
            vec![
                ("data_source", top_strings(like, &rows.source)),
                ("prompt", Arc::new(list.finish())),
                (
                    "reward_model",
                    structure(vec![
                        ("style", strings(&vec!["rule".to_owned(); n])),
                        ("ground_truth", strings(&rows.case)),
                    ]),
                ),
                (
                    "extra_info",
                    structure(vec![
                        ("split", strings(&rows.split)),
                        ("index", Arc::new(Int64Array::from(rows.index.clone()))),
                    ]),
                ),
            ]
        }
    };
    let schema = Schema::new(
        columns
            .iter()
            .map(|(name, array)| Field::new(*name, array.data_type().clone(), true))
            .collect::<Vec<_>>(),
    );
    Ok(RecordBatch::try_new(
        Arc::new(schema),
        columns.into_iter().map(|(_, a)| a).collect(),
    )?)
}

/// Parquet output.
pub struct ParquetSink {
    writer: ArrowWriter<File>,
    format: Format,
    like: PandasLike,
    rows: Rows,
}

impl ParquetSink {
    pub fn new(file: File, format: Format, like: PandasLike) -> Result<ParquetSink> {
        let schema = batch(format, like, &Rows::default())?.schema();
        let writer =
            ArrowWriter::try_new(file, schema, None).context("starting the Parquet file")?;
        Ok(ParquetSink {
            writer,
            format,
            like,
            rows: Rows::default(),
        })
    }

    fn flush(&mut self) -> Result<()> {
        if self.rows.prompt.is_empty() {
            return Ok(());
        }
        let rows = std::mem::take(&mut self.rows);
        self.writer.write(&batch(self.format, self.like, &rows)?)?;
        self.writer.flush()?;
        Ok(())
    }
}

impl Sink for ParquetSink {
    fn push(&mut self, r: &Record<'_>) -> Result<()> {
        let rows = &mut self.rows;
        rows.source.push(match self.format {
            Format::Internbootcamp => r.ib_source(),
            Format::Verl => r.verl_source(),
        });
        rows.prompt.push(match self.format {
            Format::Internbootcamp => r.prompt.trim().to_owned(),
            Format::Verl => r.prompt.to_owned(),
        });
        rows.case.push(r.case.get().to_owned());
        rows.split.push(r.split.to_owned());
        rows.index.push(r.index as i64);
        if rows.prompt.len() >= ROW_GROUP {
            self.flush()?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<()> {
        self.flush()?;
        let file = self
            .writer
            .into_inner()
            .context("closing the Parquet file")?;
        file.sync_all()?;
        Ok(())
    }
}
