//! Content coding: which of brotli, gzip or the plain bytes a request accepts
//! (`Accept-Encoding` with its q-values), and the compressed bytes themselves.
//! Each coding is a representation with its own strong ETag, and is made once per
//! file version (the file cache keeps it), since readers poll the same feeds.

use std::io::Write;

/// Files smaller than this are sent as they are: compressing saves less than the
/// header costs.
pub const MIN_SIZE: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    Identity,
    Gzip,
    Brotli,
}

impl Coding {
    /// The `Content-Encoding` value, and the suffix of the representation's ETag.
    pub fn name(self) -> Option<&'static str> {
        match self {
            Self::Identity => None,
            Self::Gzip => Some("gzip"),
            Self::Brotli => Some("br"),
        }
    }
}

/// The coding to answer with: the compressed one the client weighs highest
/// (brotli on a tie, as it is smaller), else the plain bytes.
pub fn negotiate(accept: Option<&str>) -> Coding {
    let Some(accept) = accept else {
        return Coding::Identity;
    };
    let mut star = None;
    let (mut gzip, mut br) = (None, None);
    for part in accept.split(',') {
        let mut fields = part.split(';');
        let name = fields.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = fields
            .filter_map(|f| f.trim().strip_prefix("q=").or(f.trim().strip_prefix("Q=")))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        match name.as_str() {
            "gzip" | "x-gzip" => gzip = Some(q),
            "br" => br = Some(q),
            "*" => star = Some(q),
            _ => {}
        }
    }
    let gzip = gzip.or(star).unwrap_or(0.0);
    let br = br.or(star).unwrap_or(0.0);
    if br > 0.0 && br >= gzip {
        Coding::Brotli
    } else if gzip > 0.0 {
        Coding::Gzip
    } else {
        Coding::Identity
    }
}

pub fn compress(coding: Coding, bytes: &[u8]) -> Vec<u8> {
    match coding {
        Coding::Identity => bytes.to_vec(),
        Coding::Gzip => {
            let mut out = flate2::write::GzEncoder::new(
                Vec::with_capacity(bytes.len() / 4),
                flate2::Compression::default(),
            );
            out.write_all(bytes).expect("writing to memory");
            out.finish().expect("writing to memory")
        }
        Coding::Brotli => {
            let mut out = Vec::with_capacity(bytes.len() / 4);
            // Quality 6 of 11: close to the best ratio on XML at a fraction of
            // the time, which matters for a file's first request.
            let params = brotli::enc::BrotliEncoderParams {
                quality: 6,
                ..Default::default()
            };
            brotli::BrotliCompress(&mut &bytes[..], &mut out, &params).expect("writing to memory");
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn negotiates_by_weight() {
        let cases = [
            (None, Coding::Identity),
            (Some(""), Coding::Identity),
            (Some("gzip"), Coding::Gzip),
            (Some("gzip, deflate, br"), Coding::Brotli),
            (Some("br;q=0.5, gzip"), Coding::Gzip),
            (Some("br;q=0, gzip;q=0"), Coding::Identity),
            (Some("*"), Coding::Brotli),
            (Some("*;q=0.1, br;q=0"), Coding::Gzip),
            (Some("deflate"), Coding::Identity),
            (Some("GZIP ; q=0.8"), Coding::Gzip),
            (Some("x-gzip"), Coding::Gzip),
        ];
        for (accept, want) in cases {
            assert_eq!(negotiate(accept), want, "{accept:?}");
        }
    }

    #[test]
    fn compressed_bytes_decompress_to_the_original() {
        let text = "<rss><channel><title>x</title></channel></rss>\n".repeat(40);
        let gz = compress(Coding::Gzip, text.as_bytes());
        let mut back = String::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_string(&mut back)
            .unwrap();
        assert_eq!(back, text);
        let br = compress(Coding::Brotli, text.as_bytes());
        let mut back = Vec::new();
        brotli::BrotliDecompress(&mut &br[..], &mut back).unwrap();
        assert_eq!(back, text.as_bytes());
        assert!(br.len() < text.len() / 4 && gz.len() < text.len() / 4);
    }
}
