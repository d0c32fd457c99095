//! `audio_processor`: format detection and metadata (symphonia: WAV, FLAC,
//! MP3, Ogg Vorbis), conversion to 16-bit PCM WAV (symphonia decodes,
//! hound writes).

use std::fs::File;
use std::io::Read;
use std::path::Path;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{json, Value};
use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{DecoderOptions, CODEC_TYPE_NULL};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

use super::{extension, input_file, media_metadata, media_synonyms, two_operation_schema};
use crate::blocking::{self, Cancel};
use crate::params::decode;
use crate::{FileSandbox, Result, Tool, ToolContext, ToolError, ToolMetadata, ToolsConfig};

const NAME: &str = "audio_processor";
/// Most bytes a converted WAV file may have.
const MAX_OUTPUT_BYTES: u64 = 512 << 20;

/// Audio files inside the file roots: `metadata` (container format from
/// the file's signature, codec, sample rate, channels, bits per sample,
/// frames, duration in seconds) and `convert` (decode WAV, FLAC, MP3 or Ogg
/// Vorbis and write 16-bit PCM WAV to `output_path`, at most 512 MiB).
#[derive(Debug)]
pub struct AudioProcessorTool {
    metadata: ToolMetadata,
    files: FileSandbox,
    max_bytes: u64,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum Operation {
    Metadata,
    Convert,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    operation: Operation,
    path: String,
    output_path: Option<String>,
}

impl AudioProcessorTool {
    /// The tool, with the file roots of `config`.
    #[must_use]
    pub fn new(config: &ToolsConfig) -> Self {
        let metadata = media_metadata(
            NAME,
            "Detect an audio file's format and read its metadata (codec, sample rate, \
             channels, duration), or convert it to 16-bit WAV.",
            two_operation_schema("convert", "the WAV file `convert` writes", json!({})),
            media_synonyms()
                .value("operation", "get_duration", "metadata")
                .value("operation", "detect_format", "metadata"),
        );
        Self {
            metadata,
            files: config.files.clone(),
            max_bytes: config.file_limit(),
        }
    }
}

#[async_trait]
impl Tool for AudioProcessorTool {
    fn metadata(&self) -> &ToolMetadata {
        &self.metadata
    }

    async fn execute(&self, params: Value, _ctx: &ToolContext) -> Result<Value> {
        let p: Params = decode(NAME, params)?;
        let input = input_file(NAME, &self.files, &p.path, self.max_bytes).await?;
        match p.operation {
            Operation::Metadata => blocking::run(NAME, move |_| metadata(&input)).await,
            Operation::Convert => {
                let out = p.output_path.ok_or_else(|| {
                    ToolError::invalid_parameter(NAME, "output_path", "required for `convert`")
                })?;
                let out = self.files.resolve(NAME, &out)?;
                blocking::run(NAME, move |cancel| convert(&input, &out, cancel)).await
            }
        }
    }
}

/// The container, from the first bytes.
fn container(path: &Path) -> Result<&'static str> {
    let mut head = [0u8; 12];
    let mut file = File::open(path)
        .map_err(|e| ToolError::io(NAME, format!("opening {}", path.display()), e))?;
    let n = file
        .read(&mut head)
        .map_err(|e| ToolError::io(NAME, format!("reading {}", path.display()), e))?;
    let head = &head[..n];
    Ok(
        if head.starts_with(b"RIFF") && head.get(8..12) == Some(b"WAVE") {
            "wav"
        } else if head.starts_with(b"fLaC") {
            "flac"
        } else if head.starts_with(b"OggS") {
            "ogg"
        } else if head.starts_with(b"ID3")
            || (head.len() >= 2 && head[0] == 0xFF && head[1] & 0xE0 == 0xE0)
        {
            "mp3"
        } else if head.get(4..8) == Some(b"ftyp") {
            "mp4"
        } else {
            "unknown"
        },
    )
}

fn probe(path: &Path) -> Result<Box<dyn symphonia::core::formats::FormatReader>> {
    let file = File::open(path)
        .map_err(|e| ToolError::io(NAME, format!("opening {}", path.display()), e))?;
    let stream = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = extension(path) {
        hint.with_extension(&ext);
    }
    let probed = symphonia::default::get_probe()
        .format(
            &hint,
            stream,
            &FormatOptions::default(),
            &MetadataOptions::default(),
        )
        .map_err(|e| {
            ToolError::invalid_parameter(
                NAME,
                "path",
                format!("not an audio file this tool reads (WAV, FLAC, MP3, Ogg Vorbis): {e}"),
            )
        })?;
    Ok(probed.format)
}

fn metadata(path: &Path) -> Result<Value> {
    let format = container(path)?;
    let reader = probe(path)?;
    let track = reader
        .default_track()
        .ok_or_else(|| ToolError::invalid_parameter(NAME, "path", "the file has no audio track"))?;
    let params = &track.codec_params;
    let codec = symphonia::default::get_codecs()
        .get_codec(params.codec)
        .map_or("unknown", |d| d.short_name);
    let duration = match (params.n_frames, params.sample_rate) {
        #[allow(clippy::cast_precision_loss)]
        (Some(frames), Some(rate)) if rate > 0 => Some(frames as f64 / f64::from(rate)),
        _ => None,
    };
    Ok(json!({
        "format": format,
        "codec": codec,
        "sample_rate": params.sample_rate,
        "channels": params.channels.map(|c| c.count()),
        "bits_per_sample": params.bits_per_sample,
        "frames": params.n_frames,
        "duration_seconds": duration,
        "tracks": reader.tracks().len(),
    }))
}

fn convert(input: &Path, output: &Path, cancel: &Cancel) -> Result<Value> {
    let mut reader = probe(input)?;
    let track = reader
        .tracks()
        .iter()
        .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
        .ok_or_else(|| ToolError::invalid_parameter(NAME, "path", "the file has no audio track"))?;
    let track_id = track.id;
    let mut decoder = symphonia::default::get_codecs()
        .make(&track.codec_params, &DecoderOptions::default())
        .map_err(|e| ToolError::invalid_parameter(NAME, "path", format!("cannot decode: {e}")))?;
    let mut writer: Option<hound::WavWriter<std::io::BufWriter<File>>> = None;
    let mut frames = 0u64;
    let (mut rate, mut channels) = (0u32, 0u16);
    loop {
        cancel.check(NAME)?;
        let packet = match reader.next_packet() {
            Ok(p) => p,
            Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(ToolError::execution(NAME, format!("reading packets: {e}"))),
        };
        if packet.track_id() != track_id {
            continue;
        }
        let decoded = match decoder.decode(&packet) {
            Ok(d) => d,
            Err(SymError::DecodeError(_)) => continue,
            Err(e) => return Err(ToolError::execution(NAME, format!("decoding: {e}"))),
        };
        let spec = *decoded.spec();
        let mut buf = SampleBuffer::<i16>::new(decoded.capacity() as u64, spec);
        buf.copy_interleaved_ref(decoded);
        if writer.is_none() {
            rate = spec.rate;
            channels = u16::try_from(spec.channels.count()).unwrap_or(u16::MAX);
            let wav = hound::WavSpec {
                channels,
                sample_rate: rate,
                bits_per_sample: 16,
                sample_format: hound::SampleFormat::Int,
            };
            writer = Some(hound::WavWriter::create(output, wav).map_err(|e| {
                ToolError::execution(NAME, format!("cannot write {}: {e}", output.display()))
            })?);
        }
        if let Some(w) = writer.as_mut() {
            for s in buf.samples() {
                w.write_sample(*s)
                    .map_err(|e| ToolError::execution(NAME, format!("writing: {e}")))?;
            }
            if u64::from(w.len()) * 2 > MAX_OUTPUT_BYTES {
                return Err(ToolError::invalid_parameter(
                    NAME,
                    "path",
                    format!("the decoded audio is larger than {MAX_OUTPUT_BYTES} bytes"),
                ));
            }
        }
        frames += buf.samples().len() as u64 / u64::from(channels.max(1));
    }
    let writer = writer
        .ok_or_else(|| ToolError::invalid_parameter(NAME, "path", "no audio could be decoded"))?;
    writer
        .finalize()
        .map_err(|e| ToolError::execution(NAME, format!("finishing the WAV file: {e}")))?;
    #[allow(clippy::cast_precision_loss)]
    let duration = frames as f64 / f64::from(rate.max(1));
    Ok(json!({
        "output_path": output.display().to_string(),
        "format": "wav",
        "sample_rate": rate,
        "channels": channels,
        "bits_per_sample": 16,
        "frames": frames,
        "duration_seconds": duration,
    }))
}
