//! `FmtBuf`: `core::fmt` into a caller's fixed buffer, always NUL-terminated
//! and silently truncated. For text the runtime builds where it must not
//! allocate: signal handlers, threads about to hold a P.

pub struct FmtBuf<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> FmtBuf<'a> {
    pub fn new(buf: &'a mut [u8]) -> FmtBuf<'a> {
        FmtBuf { buf, len: 0 }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// The text as a C string (the buffer keeps room for the NUL).
    pub fn as_cstr(&mut self) -> *const libc::c_char {
        self.buf[self.len] = 0;
        self.buf.as_ptr() as *const libc::c_char
    }
}

impl core::fmt::Write for FmtBuf<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let room = self.buf.len().saturating_sub(self.len + 1);
        let n = s.len().min(room);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::fmt::Write;

    #[test]
    fn truncates_and_keeps_room_for_the_nul() {
        let mut bytes = [0xffu8; 8];
        let mut b = FmtBuf::new(&mut bytes);
        let tail = "abcdefgh";
        write!(b, "{}-{tail}", 12).unwrap();
        assert_eq!(b.as_bytes(), b"12-abcd");
        let c = b.as_cstr();
        // SAFETY: as_cstr NUL-terminates inside the buffer.
        assert_eq!(unsafe { core::ffi::CStr::from_ptr(c) }.to_bytes(), b"12-abcd");
        let mut empty: [u8; 1] = [1];
        let mut e = FmtBuf::new(&mut empty);
        write!(e, "x").unwrap();
        assert_eq!(e.as_bytes(), b"");
    }
}
