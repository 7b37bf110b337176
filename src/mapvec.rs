//! `MapVec`: a growable array whose memory comes straight from `mmap`, for
//! runtime structures that grow while their owner holds a P (timer heaps,
//! scratch space of large selects).
//!
//! Why not `Vec`: the runtime must never block on a libc lock while holding
//! a P. A goroutine preempted inside `malloc` holds malloc's lock until it
//! gets a P back; if the threads holding Ps then wait for that lock inside
//! the runtime (where sysmon cannot take their P), nobody can give it one.
//! `mmap`/`mremap` are plain system calls that take no user-space lock.

use core::ops::{Deref, DerefMut};
use core::ptr;

use crate::stack::PAGE;

pub struct MapVec<T: Copy> {
    ptr: *mut T,
    len: usize,
    cap: usize,
}

// SAFETY: a MapVec owns its mapping like a Vec owns its buffer.
unsafe impl<T: Copy + Send> Send for MapVec<T> {}

impl<T: Copy> MapVec<T> {
    pub const fn new() -> MapVec<T> {
        MapVec { ptr: ptr::null_mut(), len: 0, cap: 0 }
    }

    /// `n` copies of `fill`.
    pub fn filled(n: usize, fill: T) -> MapVec<T> {
        let mut v = MapVec::new();
        for _ in 0..n {
            v.push(fill);
        }
        v
    }

    pub fn push(&mut self, v: T) {
        if self.len == self.cap {
            self.grow();
        }
        // SAFETY: len < cap after grow; the slot is inside the mapping.
        unsafe { self.ptr.add(self.len).write(v) };
        self.len += 1;
    }

    pub fn pop(&mut self) -> Option<T> {
        if self.len == 0 {
            return None;
        }
        self.len -= 1;
        // SAFETY: the slot was written by push.
        Some(unsafe { self.ptr.add(self.len).read() })
    }

    /// Moves the contents out, leaving this empty (and without memory).
    pub fn take(&mut self) -> MapVec<T> {
        core::mem::replace(self, MapVec::new())
    }

    fn grow(&mut self) {
        let size = core::mem::size_of::<T>().max(1);
        let old_bytes = self.cap * size;
        let new_bytes = (old_bytes * 2).max(PAGE).next_multiple_of(PAGE);
        // SAFETY: a fresh mapping, or resizing our own; on failure we abort
        // like an allocation failure would (the runtime cannot go on
        // without its timer heap).
        let p = unsafe {
            if self.ptr.is_null() {
                libc::mmap(
                    ptr::null_mut(),
                    new_bytes,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                )
            } else {
                libc::mremap(self.ptr as *mut libc::c_void, old_bytes, new_bytes, libc::MREMAP_MAYMOVE)
            }
        };
        if p == libc::MAP_FAILED {
            crate::fatal("out of memory growing a runtime table");
        }
        self.ptr = p as *mut T;
        self.cap = new_bytes / size;
    }
}

impl<T: Copy> Deref for MapVec<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        if self.ptr.is_null() {
            return &[];
        }
        // SAFETY: the first len elements are initialised.
        unsafe { core::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl<T: Copy> DerefMut for MapVec<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        if self.ptr.is_null() {
            return &mut [];
        }
        // SAFETY: as above, and we have unique access.
        unsafe { core::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

impl<T: Copy> Drop for MapVec<T> {
    fn drop(&mut self) {
        if !self.ptr.is_null() {
            // SAFETY: our own mapping, no longer used.
            unsafe { libc::munmap(self.ptr as *mut libc::c_void, self.cap * core::mem::size_of::<T>().max(1)) };
        }
    }
}

impl<T: Copy> IntoIterator for MapVec<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;
    fn into_iter(self) -> IntoIter<T> {
        IntoIter { v: self, i: 0 }
    }
}

pub struct IntoIter<T: Copy> {
    v: MapVec<T>,
    i: usize,
}

impl<T: Copy> Iterator for IntoIter<T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        let x = self.v.get(self.i).copied();
        self.i += 1;
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_across_pages_keeping_every_element() {
        let mut v = MapVec::new();
        assert!(v.is_empty() && v.pop().is_none());
        let n = 3 * PAGE; // u64s: six pages, several mremaps
        for i in 0..n as u64 {
            v.push(i * 7);
        }
        assert_eq!(v.len(), n);
        assert!(v.iter().enumerate().all(|(i, &x)| x == i as u64 * 7));
        v[5] = 1;
        assert_eq!(v[5], 1);
        assert_eq!(v.pop(), Some((n as u64 - 1) * 7));
        assert_eq!(v.len(), n - 1);
    }

    #[test]
    fn take_moves_the_contents_out() {
        let mut v = MapVec::filled(5, 9u32);
        assert_eq!(&v[..], &[9; 5]);
        let taken = v.take();
        assert!(v.is_empty());
        assert_eq!(taken.into_iter().collect::<Vec<_>>(), [9; 5]);
        // The emptied vector works as a new one.
        v.push(1);
        assert_eq!(&v[..], &[1]);
    }

    #[test]
    fn sorts_in_place_through_deref_mut() {
        let mut v = MapVec::new();
        for x in [5, 3, 9, 1] {
            v.push(x);
        }
        v.sort_unstable();
        assert_eq!(&v[..], &[1, 3, 5, 9]);
    }
}
