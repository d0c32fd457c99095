//! `image_processor` (the `image` crate: PNG, JPEG, GIF, BMP, WebP).

use std::path::Path;

use async_trait::async_trait;
use image::{DynamicImage, ImageFormat, ImageReader, Limits};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{extension, input_file, media_metadata, media_synonyms};
use crate::blocking;
use crate::params::decode;
use crate::{FileSandbox, Result, Tool, ToolContext, ToolError, ToolMetadata, ToolsConfig};

const NAME: &str = "image_processor";
/// Largest width or height read or produced.
const MAX_SIDE: u32 = 16_384;
/// Most bytes the decoder may allocate.
const MAX_ALLOC: u64 = 512 << 20;

/// Reads and transforms images inside the file roots: `metadata` (format,
/// dimensions, colour type), `resize` (to `width` × `height`, keeping the
/// aspect ratio within them unless `keep_aspect = false`), `thumbnail`
/// (fits within `width` × `height`, default 128), `crop` (`x`, `y`,
/// `width`, `height`), `rotate` (`degrees`: 90, 180, 270), `flip`
/// (`direction`: horizontal or vertical), `convert` (to the format of
/// `output_path`'s extension or `format`). Formats: PNG, JPEG, GIF, BMP,
/// WebP (WebP is read-only lossless here). Images over 16,384 pixels a
/// side or needing more than 512 MiB to decode are refused; files over
/// `max_file_bytes` too.
#[derive(Debug)]
pub struct ImageProcessorTool {
    metadata: ToolMetadata,
    files: FileSandbox,
    max_bytes: u64,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum Operation {
    Metadata,
    Resize,
    Thumbnail,
    Crop,
    Rotate,
    Flip,
    Convert,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    operation: Operation,
    path: String,
    output_path: Option<String>,
    width: Option<u32>,
    height: Option<u32>,
    x: Option<u32>,
    y: Option<u32>,
    degrees: Option<u32>,
    direction: Option<String>,
    format: Option<String>,
    #[serde(default = "yes")]
    keep_aspect: bool,
}

fn yes() -> bool {
    true
}

impl ImageProcessorTool {
    /// The tool, with the file roots of `config`.
    #[must_use]
    pub fn new(config: &ToolsConfig) -> Self {
        let side = json!({"type": "integer", "minimum": 1, "maximum": MAX_SIDE});
        let metadata = media_metadata(
            NAME,
            "Read image metadata and resize, crop, rotate, flip, convert or thumbnail images \
             (PNG, JPEG, GIF, BMP, WebP) inside the file roots.",
            json!({
                "type": "object",
                "properties": {
                    "operation": {"enum": ["metadata", "resize", "thumbnail", "crop", "rotate", "flip", "convert"]},
                    "path": {"type": "string", "minLength": 1, "description": "the image"},
                    "output_path": {"type": "string", "minLength": 1,
                                    "description": "where the result goes (all but metadata)"},
                    "width": side, "height": side,
                    "x": {"type": "integer", "minimum": 0, "maximum": MAX_SIDE},
                    "y": {"type": "integer", "minimum": 0, "maximum": MAX_SIDE},
                    "degrees": {"enum": [90, 180, 270]},
                    "direction": {"enum": ["horizontal", "vertical"]},
                    "format": {"enum": ["png", "jpeg", "gif", "bmp"]},
                    "keep_aspect": {"type": "boolean", "default": true}
                },
                "required": ["operation", "path"],
                "additionalProperties": false,
                "allOf": [
                    {"if": {"properties": {"operation": {"not": {"const": "metadata"}}}},
                     "then": {"required": ["output_path"]}},
                    {"if": {"properties": {"operation": {"const": "resize"}}},
                     "then": {"required": ["width", "height"]}},
                    {"if": {"properties": {"operation": {"const": "crop"}}},
                     "then": {"required": ["x", "y", "width", "height"]}},
                    {"if": {"properties": {"operation": {"const": "rotate"}}},
                     "then": {"required": ["degrees"]}},
                    {"if": {"properties": {"operation": {"const": "flip"}}},
                     "then": {"required": ["direction"]}}
                ]
            }),
            media_synonyms().parameter("output", "output_path"),
        );
        Self {
            metadata,
            files: config.files.clone(),
            max_bytes: config.file_limit(),
        }
    }
}

#[async_trait]
impl Tool for ImageProcessorTool {
    fn metadata(&self) -> &ToolMetadata {
        &self.metadata
    }

    async fn execute(&self, params: Value, _ctx: &ToolContext) -> Result<Value> {
        let p: Params = decode(NAME, params)?;
        let input = input_file(NAME, &self.files, &p.path, self.max_bytes).await?;
        let output = match (&p.output_path, p.operation) {
            (_, Operation::Metadata) => None,
            (Some(out), _) => Some(self.files.resolve(NAME, out)?),
            (None, _) => {
                return Err(ToolError::invalid_parameter(
                    NAME,
                    "output_path",
                    "required for every operation but `metadata`",
                ))
            }
        };
        blocking::run(NAME, move |_| run(&p, &input, output.as_deref())).await
    }
}

fn open(path: &Path) -> Result<(DynamicImage, Option<ImageFormat>)> {
    let mut reader = ImageReader::open(path)
        .map_err(|e| ToolError::io(NAME, format!("opening {}", path.display()), e))?
        .with_guessed_format()
        .map_err(|e| ToolError::io(NAME, format!("reading {}", path.display()), e))?;
    let format = reader.format();
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    let image = reader.decode().map_err(|e| {
        ToolError::invalid_parameter(NAME, "path", format!("cannot decode the image: {e}"))
    })?;
    Ok((image, format))
}

fn format_name(format: Option<ImageFormat>) -> String {
    format.map_or_else(
        || "unknown".to_owned(),
        |f| {
            f.extensions_str()
                .first()
                .copied()
                .unwrap_or("unknown")
                .to_owned()
        },
    )
}

fn run(p: &Params, input: &Path, output: Option<&Path>) -> Result<Value> {
    let (image, format) = open(input)?;
    let need = |v: Option<u32>, name: &str| {
        v.ok_or_else(|| ToolError::invalid_parameter(NAME, name, "required for this operation"))
    };
    let result = match p.operation {
        Operation::Metadata => {
            return Ok(json!({
                "format": format_name(format),
                "width": image.width(),
                "height": image.height(),
                "color_type": format!("{:?}", image.color()),
                "has_alpha": image.color().has_alpha(),
            }))
        }
        Operation::Resize => {
            let (w, h) = (need(p.width, "width")?, need(p.height, "height")?);
            if p.keep_aspect {
                image.resize(w, h, image::imageops::FilterType::Lanczos3)
            } else {
                image.resize_exact(w, h, image::imageops::FilterType::Lanczos3)
            }
        }
        Operation::Thumbnail => image.thumbnail(p.width.unwrap_or(128), p.height.unwrap_or(128)),
        Operation::Crop => {
            let (x, y) = (need(p.x, "x")?, need(p.y, "y")?);
            let (w, h) = (need(p.width, "width")?, need(p.height, "height")?);
            if x.saturating_add(w) > image.width() || y.saturating_add(h) > image.height() {
                return Err(ToolError::invalid_parameter(
                    NAME,
                    "width",
                    format!(
                        "the crop {w}x{h} at ({x}, {y}) does not fit in the {}x{} image",
                        image.width(),
                        image.height()
                    ),
                ));
            }
            image.crop_imm(x, y, w, h)
        }
        Operation::Rotate => match p.degrees {
            Some(90) => image.rotate90(),
            Some(180) => image.rotate180(),
            Some(270) => image.rotate270(),
            _ => {
                return Err(ToolError::invalid_parameter(
                    NAME,
                    "degrees",
                    "must be 90, 180 or 270",
                ))
            }
        },
        Operation::Flip => match p.direction.as_deref() {
            Some("horizontal") => image.fliph(),
            Some("vertical") => image.flipv(),
            _ => {
                return Err(ToolError::invalid_parameter(
                    NAME,
                    "direction",
                    "must be horizontal or vertical",
                ))
            }
        },
        Operation::Convert => image,
    };
    let output = output.ok_or_else(|| {
        ToolError::invalid_parameter(NAME, "output_path", "required for this operation")
    })?;
    let out_format = output_format(p.format.as_deref(), output, format)?;
    // JPEG and BMP have no alpha here: drop it rather than fail.
    let result = match out_format {
        ImageFormat::Jpeg => DynamicImage::ImageRgb8(result.to_rgb8()),
        _ => result,
    };
    result.save_with_format(output, out_format).map_err(|e| {
        ToolError::execution(NAME, format!("cannot write {}: {e}", output.display()))
    })?;
    Ok(json!({
        "output_path": output.display().to_string(),
        "format": format_name(Some(out_format)),
        "width": result.width(),
        "height": result.height(),
    }))
}

fn output_format(
    asked: Option<&str>,
    output: &Path,
    input: Option<ImageFormat>,
) -> Result<ImageFormat> {
    let name = asked.map(str::to_owned).or_else(|| extension(output));
    let format = match name.as_deref() {
        Some("png") => ImageFormat::Png,
        Some("jpg" | "jpeg") => ImageFormat::Jpeg,
        Some("gif") => ImageFormat::Gif,
        Some("bmp") => ImageFormat::Bmp,
        None => input.ok_or_else(|| {
            ToolError::invalid_parameter(NAME, "format", "cannot tell the output format")
        })?,
        Some(other) => {
            return Err(ToolError::invalid_parameter(
                NAME,
                "format",
                format!("cannot write `{other}`; write png, jpeg, gif or bmp"),
            ))
        }
    };
    Ok(format)
}
