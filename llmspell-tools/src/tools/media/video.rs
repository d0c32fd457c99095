//! `video_processor`: container metadata (the `mp4` crate for MP4/MOV,
//! `ffprobe` for other containers when it is on `PATH`) and frame
//! extraction (`ffmpeg`, when it is on `PATH`).

use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{extension, input_file, media_metadata, media_synonyms, on_path, two_operation_schema};
use crate::blocking;
use crate::params::decode;
use crate::{FileSandbox, Result, Tool, ToolContext, ToolError, ToolMetadata, ToolsConfig};

const NAME: &str = "video_processor";
/// How long `ffmpeg`/`ffprobe` may run.
const PROCESS_TIMEOUT: Duration = Duration::from_secs(60);

/// Video files inside the file roots: `metadata` (duration, tracks with
/// their kind, codec, dimensions, frame rate, bit rate; MP4/MOV read by the
/// `mp4` crate, other containers by `ffprobe` when it is on `PATH`) and
/// `extract_frame` (the frame at `time_seconds`, written as PNG or JPEG to
/// `output_path`; needs `ffmpeg` on `PATH`, otherwise a clear error). The
/// programs run without a shell, with the arguments fixed here, and are
/// killed after 60 s.
#[derive(Debug)]
pub struct VideoProcessorTool {
    metadata: ToolMetadata,
    files: FileSandbox,
    max_bytes: u64,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum Operation {
    Metadata,
    ExtractFrame,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    operation: Operation,
    path: String,
    output_path: Option<String>,
    #[serde(default)]
    time_seconds: f64,
}

impl VideoProcessorTool {
    /// The tool, with the file roots of `config` (video files may be up to
    /// 64 times `max_file_bytes`: they are never read into memory whole).
    #[must_use]
    pub fn new(config: &ToolsConfig) -> Self {
        let metadata = media_metadata(
            NAME,
            "Read a video's container metadata (duration, streams, codecs, dimensions) or \
             extract a frame as an image (needs ffmpeg).",
            two_operation_schema(
                "extract_frame",
                "the .png or .jpg `extract_frame` writes",
                json!({
                    "time_seconds": {"type": "number", "minimum": 0, "maximum": 86_400, "default": 0}
                }),
            ),
            media_synonyms()
                .parameter("timestamp", "time_seconds")
                .value("operation", "extract_frames", "extract_frame"),
        );
        Self {
            metadata,
            files: config.files.clone(),
            max_bytes: config.file_limit().saturating_mul(64),
        }
    }
}

#[async_trait]
impl Tool for VideoProcessorTool {
    fn metadata(&self) -> &ToolMetadata {
        &self.metadata
    }

    async fn execute(&self, params: Value, _ctx: &ToolContext) -> Result<Value> {
        let p: Params = decode(NAME, params)?;
        let input = input_file(NAME, &self.files, &p.path, self.max_bytes).await?;
        match p.operation {
            Operation::Metadata => {
                let is_mp4 = matches!(
                    extension(&input).as_deref(),
                    Some("mp4" | "m4v" | "mov" | "m4a" | "3gp")
                );
                if is_mp4 {
                    let path = input.clone();
                    if let Ok(v) = blocking::run(NAME, move |_| mp4_metadata(&path)).await {
                        return Ok(v);
                    }
                }
                ffprobe(&input).await
            }
            Operation::ExtractFrame => {
                let out = p.output_path.ok_or_else(|| {
                    ToolError::invalid_parameter(
                        NAME,
                        "output_path",
                        "required for `extract_frame`",
                    )
                })?;
                if !matches!(
                    extension(Path::new(&out)).as_deref(),
                    Some("png" | "jpg" | "jpeg")
                ) {
                    return Err(ToolError::invalid_parameter(
                        NAME,
                        "output_path",
                        "must end in .png, .jpg or .jpeg",
                    ));
                }
                if !(p.time_seconds.is_finite() && (0.0..=86_400.0).contains(&p.time_seconds)) {
                    return Err(ToolError::invalid_parameter(
                        NAME,
                        "time_seconds",
                        "must be from 0 to 86400",
                    ));
                }
                let out = self.files.resolve(NAME, &out)?;
                extract_frame(&input, &out, p.time_seconds).await
            }
        }
    }
}

fn mp4_metadata(path: &Path) -> Result<Value> {
    let file = File::open(path)
        .map_err(|e| ToolError::io(NAME, format!("opening {}", path.display()), e))?;
    let size = file
        .metadata()
        .map_err(|e| ToolError::io(NAME, format!("reading {}", path.display()), e))?
        .len();
    let reader = mp4::Mp4Reader::read_header(BufReader::new(file), size).map_err(|e| {
        ToolError::invalid_parameter(NAME, "path", format!("not a readable MP4: {e}"))
    })?;
    let mut ids: Vec<&u32> = reader.tracks().keys().collect();
    ids.sort();
    let mut streams = Vec::new();
    for id in ids {
        let t = &reader.tracks()[id];
        let kind = t
            .track_type()
            .map(|k| k.to_string().to_lowercase())
            .unwrap_or_else(|_| "unknown".into());
        let codec = t
            .media_type()
            .map(|m| m.to_string().to_lowercase())
            .or_else(|_| t.box_type().map(|b| b.to_string()))
            .unwrap_or_else(|_| "unknown".into());
        let mut s = json!({
            "index": id,
            "kind": kind,
            "codec": codec,
            "duration_seconds": t.duration().as_secs_f64(),
            "bit_rate": t.bitrate(),
            "samples": t.sample_count(),
        });
        if kind == "video" {
            s["width"] = json!(t.width());
            s["height"] = json!(t.height());
            s["frame_rate"] = json!(t.frame_rate());
        }
        streams.push(s);
    }
    Ok(json!({
        "container": "mp4",
        "brand": reader.major_brand().to_string(),
        "duration_seconds": reader.duration().as_secs_f64(),
        "streams": streams,
        "source": "mp4",
    }))
}

/// Runs a program with fixed arguments, killed at the timeout.
async fn run_program(program: &Path, args: &[&std::ffi::OsStr]) -> Result<std::process::Output> {
    let child = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| ToolError::io(NAME, format!("starting {}", program.display()), e))?;
    match tokio::time::timeout(PROCESS_TIMEOUT, child.wait_with_output()).await {
        Ok(out) => {
            out.map_err(|e| ToolError::io(NAME, format!("running {}", program.display()), e))
        }
        Err(_) => Err(ToolError::Timeout {
            tool: NAME.to_owned(),
            timeout: PROCESS_TIMEOUT,
        }),
    }
}

fn missing(program: &str, what: &str) -> ToolError {
    ToolError::execution(
        NAME,
        format!("`{program}` is not on PATH: {what} needs it (install ffmpeg, e.g. `apt-get install ffmpeg`)"),
    )
}

async fn ffprobe(input: &Path) -> Result<Value> {
    let program = on_path("ffprobe")
        .ok_or_else(|| missing("ffprobe", "metadata of containers other than MP4/MOV"))?;
    let out = run_program(
        &program,
        &[
            "-v".as_ref(),
            "error".as_ref(),
            "-print_format".as_ref(),
            "json".as_ref(),
            "-show_format".as_ref(),
            "-show_streams".as_ref(),
            input.as_os_str(),
        ],
    )
    .await?;
    if !out.status.success() {
        return Err(ToolError::invalid_parameter(
            NAME,
            "path",
            format!(
                "ffprobe cannot read it: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ));
    }
    let raw: Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| ToolError::execution(NAME, format!("ffprobe's output: {e}")))?;
    let num = |v: &Value| v.as_str().and_then(|s| s.parse::<f64>().ok());
    let streams: Vec<Value> = raw["streams"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|s| {
            let mut o = json!({
                "index": s["index"],
                "kind": s["codec_type"],
                "codec": s["codec_name"],
                "duration_seconds": num(&s["duration"]),
                "bit_rate": num(&s["bit_rate"]),
            });
            if s["codec_type"] == "video" {
                o["width"] = s["width"].clone();
                o["height"] = s["height"].clone();
                o["frame_rate"] = json!(frame_rate(s["avg_frame_rate"].as_str()));
            }
            o
        })
        .collect();
    Ok(json!({
        "container": raw["format"]["format_name"],
        "duration_seconds": num(&raw["format"]["duration"]),
        "streams": streams,
        "source": "ffprobe",
    }))
}

/// `30000/1001` → 29.97.
fn frame_rate(text: Option<&str>) -> Option<f64> {
    let (n, d) = text?.split_once('/')?;
    let (n, d) = (n.parse::<f64>().ok()?, d.parse::<f64>().ok()?);
    (d > 0.0).then(|| n / d)
}

async fn extract_frame(input: &Path, output: &Path, time: f64) -> Result<Value> {
    let program = on_path("ffmpeg").ok_or_else(|| missing("ffmpeg", "frame extraction"))?;
    let at = format!("{time:.3}");
    let out = run_program(
        &program,
        &[
            "-nostdin".as_ref(),
            "-v".as_ref(),
            "error".as_ref(),
            "-ss".as_ref(),
            at.as_ref(),
            "-i".as_ref(),
            input.as_os_str(),
            "-frames:v".as_ref(),
            "1".as_ref(),
            "-y".as_ref(),
            output.as_os_str(),
        ],
    )
    .await?;
    if !out.status.success() || !output.is_file() {
        return Err(ToolError::invalid_parameter(
            NAME,
            "time_seconds",
            format!(
                "ffmpeg extracted no frame at {at} s: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ));
    }
    Ok(json!({"output_path": output.display().to_string(), "time_seconds": time}))
}
