//! `OwnedCell`: a field that only one context touches at a time.
//!
//! Scheduler structures are shared between threads, but many of their fields
//! have a single owner at any moment: an M's scheduling fields belong to the
//! thread running that M, a P's free list to the M holding the P, a G's
//! lock count to the goroutine itself. `OwnedCell` makes that explicit
//! without the cost of atomics; the ownership rule is written where each
//! field is declared.

use core::cell::UnsafeCell;

#[repr(transparent)]
pub struct OwnedCell<T>(UnsafeCell<T>);

// SAFETY: every OwnedCell field documents its single owner; the owner is the
// only context that reads or writes it, so no data race is possible.
unsafe impl<T> Sync for OwnedCell<T> {}

impl<T: Copy> OwnedCell<T> {
    #[inline]
    pub fn get(&self) -> T {
        // SAFETY: only the owner calls this (see the field's documentation).
        unsafe { *self.0.get() }
    }

    #[inline]
    pub fn set(&self, v: T) {
        // SAFETY: as above.
        unsafe { *self.0.get() = v }
    }

    #[inline]
    pub fn replace(&self, v: T) -> T {
        let old = self.get();
        self.set(v);
        old
    }
}

impl<T> OwnedCell<T> {
    pub const fn new(v: T) -> OwnedCell<T> {
        OwnedCell(UnsafeCell::new(v))
    }

    /// Mutable access for non-`Copy` contents.
    ///
    /// # Safety
    /// The caller is the field's owner and holds no other reference to it.
    #[allow(clippy::mut_from_ref)]
    #[inline]
    pub unsafe fn get_mut(&self) -> &mut T {
        // SAFETY: per the caller.
        unsafe { &mut *self.0.get() }
    }

    pub fn as_ptr(&self) -> *mut T {
        self.0.get()
    }
}
