//! The media tools on fixtures the tests make: a PNG (image crate), a WAV
//! (hound), an MP4 (ffmpeg, when it is installed).

use std::path::Path;
use std::process::Command;

use llmspell_tools::{ToolRegistry, ToolsConfig};
use serde_json::{json, Value};

use crate::common::{assert_invalid, assert_policy, call_in};

fn registry(dir: &Path) -> ToolRegistry {
    let config = ToolsConfig::builder().file_root(dir).build().unwrap();
    ToolRegistry::with_standard_tools(&config).unwrap()
}

async fn run(r: &ToolRegistry, tool: &str, params: Value) -> llmspell_tools::Result<Value> {
    call_in(r, tool, params).await
}

fn write_png(path: &Path, w: u32, h: u32) {
    let img = image::RgbaImage::from_fn(w, h, |x, y| {
        image::Rgba([
            u8::try_from(x % 256).unwrap(),
            u8::try_from(y % 256).unwrap(),
            128,
            255,
        ])
    });
    img.save(path).unwrap();
}

#[tokio::test]
async fn image_metadata_and_transforms() {
    let dir = tempfile::tempdir().unwrap();
    write_png(&dir.path().join("in.png"), 64, 32);
    let r = registry(dir.path());
    let meta = run(
        &r,
        "image_processor",
        json!({"operation": "metadata", "path": "in.png"}),
    )
    .await
    .unwrap();
    assert_eq!(meta["format"], "png");
    assert_eq!(
        (meta["width"].as_u64(), meta["height"].as_u64()),
        (Some(64), Some(32))
    );
    assert_eq!(meta["has_alpha"], true);

    let out = run(&r, "image_processor", json!({"operation": "resize", "path": "in.png",
                                                 "output_path": "small.png", "width": 32, "height": 32}))
        .await
        .unwrap();
    assert_eq!(
        (out["width"].as_u64(), out["height"].as_u64()),
        (Some(32), Some(16))
    );
    let exact = run(&r, "image_processor", json!({"operation": "resize", "path": "in.png", "keep_aspect": false,
                                                   "output_path": "sq.png", "width": 10, "height": 10}))
        .await
        .unwrap();
    assert_eq!(exact["height"], 10);
    let rot = run(
        &r,
        "image_processor",
        json!({"operation": "rotate", "path": "in.png",
                                                 "output_path": "rot.png", "degrees": 90}),
    )
    .await
    .unwrap();
    assert_eq!(
        (rot["width"].as_u64(), rot["height"].as_u64()),
        (Some(32), Some(64))
    );
    let crop = run(
        &r,
        "image_processor",
        json!({"operation": "crop", "path": "in.png", "output_path": "c.png",
                                                  "x": 10, "y": 5, "width": 4, "height": 3}),
    )
    .await
    .unwrap();
    assert_eq!(crop["width"], 4);
    let cropped = image::open(dir.path().join("c.png")).unwrap().to_rgba8();
    assert_eq!(
        cropped.get_pixel(0, 0).0,
        [10, 5, 128, 255],
        "the crop starts at (10, 5)"
    );
    let jpg = run(
        &r,
        "image_processor",
        json!({"operation": "convert", "path": "in.png", "output_path": "o.jpg"}),
    )
    .await
    .unwrap();
    assert_eq!(jpg["format"], "jpg");
    let meta = run(
        &r,
        "image_processor",
        json!({"operation": "info", "input": "o.jpg"}),
    )
    .await
    .unwrap();
    assert_eq!(meta["format"], "jpg");
    let thumb = run(
        &r,
        "image_processor",
        json!({"operation": "thumbnail", "path": "in.png", "output_path": "t.gif",
                                                   "width": 16, "height": 16}),
    )
    .await
    .unwrap();
    assert_eq!(
        (thumb["width"].as_u64(), thumb["format"].as_str()),
        (Some(16), Some("gif"))
    );

    assert_invalid(
        run(
            &r,
            "image_processor",
            json!({"operation": "crop", "path": "in.png", "output_path": "c.png",
                                           "x": 60, "y": 0, "width": 10, "height": 3}),
        )
        .await,
        "width",
    );
    assert_invalid(
        run(
            &r,
            "image_processor",
            json!({"operation": "resize", "path": "in.png", "output_path": "x.png"}),
        )
        .await,
        "width",
    );
    std::fs::write(dir.path().join("bad.png"), b"not an image").unwrap();
    assert_invalid(
        run(
            &r,
            "image_processor",
            json!({"operation": "metadata", "path": "bad.png"}),
        )
        .await,
        "path",
    );
    assert_policy(
        run(
            &r,
            "image_processor",
            json!({"operation": "metadata", "path": "../x.png"}),
        )
        .await,
        "path_traversal",
    );
}

fn write_wav(path: &Path, rate: u32, seconds: u32) {
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for i in 0..rate * seconds {
        let s = i16::try_from((i % 200) * 100).unwrap();
        w.write_sample(s).unwrap();
        w.write_sample(-s).unwrap();
    }
    w.finalize().unwrap();
}

#[tokio::test]
async fn audio_metadata_and_conversion() {
    let dir = tempfile::tempdir().unwrap();
    write_wav(&dir.path().join("tone.wav"), 8000, 2);
    let r = registry(dir.path());
    let meta = run(
        &r,
        "audio_processor",
        json!({"operation": "metadata", "path": "tone.wav"}),
    )
    .await
    .unwrap();
    assert_eq!(meta["format"], "wav");
    assert_eq!(meta["sample_rate"], 8000);
    assert_eq!(meta["channels"], 2);
    assert_eq!(meta["bits_per_sample"], 16);
    assert_eq!(meta["duration_seconds"], 2.0);
    let out = run(
        &r,
        "audio_processor",
        json!({"operation": "convert", "path": "tone.wav", "output_path": "copy.wav"}),
    )
    .await
    .unwrap();
    assert_eq!(out["frames"], 16_000);
    let back = hound::WavReader::open(dir.path().join("copy.wav")).unwrap();
    assert_eq!(back.spec().sample_rate, 8000);
    assert_eq!(back.duration(), 16_000);
    let samples: Vec<i16> = back
        .into_samples::<i16>()
        .take(4)
        .map(Result::unwrap)
        .collect();
    assert_eq!(samples, vec![0, 0, 100, -100]);
    std::fs::write(dir.path().join("noise.mp3"), vec![7u8; 4096]).unwrap();
    assert_invalid(
        run(
            &r,
            "audio_processor",
            json!({"operation": "metadata", "path": "noise.mp3"}),
        )
        .await,
        "path",
    );
}

fn ffmpeg_available() -> bool {
    let ok = Command::new("ffmpeg")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("LLMSPELL_REQUIRE_FFMPEG").map_or(true, |v| v != "1"),
            "LLMSPELL_REQUIRE_FFMPEG=1 but ffmpeg is not on PATH"
        );
        eprintln!("NOTICE: ffmpeg is not installed; skipping the MP4 fixture tests");
    }
    ok
}

#[tokio::test]
async fn video_metadata_and_frames() {
    let dir = tempfile::tempdir().unwrap();
    let r = registry(dir.path());
    if !ffmpeg_available() {
        // Without ffmpeg, frame extraction says what is missing.
        std::fs::write(dir.path().join("v.mp4"), b"x").unwrap();
        let err = run(
            &r,
            "video_processor",
            json!({"operation": "extract_frame", "path": "v.mp4",
                                                     "output_path": "f.png"}),
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("ffmpeg"), "{err}");
        return;
    }
    let mp4 = dir.path().join("clip.mp4");
    let made = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=duration=2:size=64x48:rate=10",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-y",
        ])
        .arg(&mp4)
        .status()
        .unwrap();
    assert!(made.success());
    let meta = run(
        &r,
        "video_processor",
        json!({"operation": "metadata", "path": "clip.mp4"}),
    )
    .await
    .unwrap();
    assert_eq!(meta["source"], "mp4", "{meta}");
    let video = &meta["streams"][0];
    assert_eq!(video["kind"], "video");
    assert_eq!(
        (video["width"].as_u64(), video["height"].as_u64()),
        (Some(64), Some(48))
    );
    let duration = meta["duration_seconds"].as_f64().unwrap();
    assert!((1.9..2.1).contains(&duration), "{duration}");

    // Another container goes through ffprobe.
    let mkv = dir.path().join("clip.mkv");
    let made = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(&mp4)
        .args(["-c", "copy", "-y"])
        .arg(&mkv)
        .status()
        .unwrap();
    assert!(made.success());
    let meta = run(
        &r,
        "video_processor",
        json!({"operation": "metadata", "path": "clip.mkv"}),
    )
    .await
    .unwrap();
    assert_eq!(meta["source"], "ffprobe");
    assert_eq!(meta["streams"][0]["codec"], "h264");
    assert_eq!(meta["streams"][0]["width"], 64);

    let frame = run(&r, "video_processor", json!({"operation": "extract_frame", "path": "clip.mp4",
                                                   "time_seconds": 1.0, "output_path": "frame.png"}))
        .await
        .unwrap();
    assert!(frame["output_path"]
        .as_str()
        .unwrap()
        .ends_with("frame.png"));
    let img = image::open(dir.path().join("frame.png")).unwrap();
    assert_eq!((img.width(), img.height()), (64, 48));
    assert_invalid(
        run(
            &r,
            "video_processor",
            json!({"operation": "extract_frame", "path": "clip.mp4",
                                           "output_path": "frame.txt"}),
        )
        .await,
        "output_path",
    );
    assert_invalid(
        run(
            &r,
            "video_processor",
            json!({"operation": "extract_frame", "path": "clip.mp4",
                                           "time_seconds": 100, "output_path": "late.png"}),
        )
        .await,
        "time_seconds",
    );
}
