//! A live capture's ring, read from JavaScript (`engine.capture()`, `fastpath capture`): the
//! engine answered `capture.start` with the ring's path; this maps it and hands over pcapng.

use engine::capture::reader::Reader;
use engine::{EngineError, ErrorCode};
use napi::bindgen_prelude::Buffer;
use napi::Result;
use napi_derive::napi;

use crate::error::{guarded, to_js};

/// What one read gave.
#[napi(object)]
pub struct CaptureChunk {
    /// pcapng bytes: the section and interface blocks on the first read, then packets.
    pub bytes: Buffer,
    /// Packets in `bytes`.
    pub packets: u32,
    /// The capture ended and everything is read.
    pub done: bool,
}

impl std::fmt::Debug for CaptureChunk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureChunk")
            .field("bytes", &self.bytes.len())
            .field("packets", &self.packets)
            .field("done", &self.done)
            .finish()
    }
}

/// Packets read so far, and copies the workers dropped because the ring was full.
#[napi(object)]
#[derive(Debug, Clone, Copy)]
pub struct CaptureCounts {
    pub captured: f64,
    pub dropped: f64,
}

/// A mapped capture ring.
#[napi]
#[derive(Debug)]
pub struct CaptureReader {
    reader: Option<Reader>,
}

#[napi]
impl CaptureReader {
    /// Maps the ring at `path` (what `capture.start` answered).
    #[napi(factory)]
    #[allow(clippy::needless_pass_by_value)] // napi hands JS arguments over by value
    pub fn open(path: String) -> Result<Self> {
        let reader = Reader::open(std::path::Path::new(&path)).map_err(|e| {
            to_js(&EngineError::new(
                ErrorCode::Control,
                format!("cannot map the capture ring {path}: {e}; is the capture still running? (run as the engine's user)"),
            ))
        })?;
        Ok(Self {
            reader: Some(reader),
        })
    }

    /// Reads at most `max_packets` packets as pcapng.
    #[napi]
    pub fn read(&mut self, max_packets: u32) -> Result<CaptureChunk> {
        let reader = self.reader.as_mut();
        guarded("CaptureReader.read", move || {
            let reader = reader.ok_or_else(|| {
                EngineError::new(ErrorCode::Control, "the capture reader is closed")
            })?;
            let chunk = reader.read(max_packets as usize);
            Ok(CaptureChunk {
                bytes: chunk.bytes.into(),
                packets: chunk.packets as u32,
                done: chunk.done,
            })
        })
    }

    /// Packets read so far, and copies dropped because the ring was full.
    #[napi]
    pub fn counts(&self) -> CaptureCounts {
        let (captured, dropped) = self.reader.as_ref().map_or((0, 0), Reader::counts);
        CaptureCounts {
            captured: captured as f64,
            dropped: dropped as f64,
        }
    }

    /// Unmaps the ring.
    #[napi]
    pub fn close(&mut self) {
        self.reader = None;
    }
}
