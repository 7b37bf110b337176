//! Cells for the runtime's shared structures.
//!
//! - `AtomicRef<T>`: an atomic `Option<&'static T>`, how Gs, Ms and Ps
//!   point at one another. They are never freed, so every reference to one
//!   is `'static`, and a link can be followed without `unsafe`.
//! - `OwnedCell<T>`: a field that only one context touches at a time.
//!   Scheduler structures are shared between threads, but many of their
//!   fields have a single owner at any moment: an M's scheduling fields
//!   belong to the thread running that M, a P's free list to the M holding
//!   the P, a G's lock count to the goroutine itself. `OwnedCell` costs
//!   what a plain field costs; the ownership rule is written where each
//!   field is declared.

use core::cell::UnsafeCell;
use core::marker::PhantomData;
use core::ptr;
use core::sync::atomic::{AtomicPtr, Ordering};

/// An atomic `Option<&'static T>`.
#[repr(transparent)]
pub struct AtomicRef<T: 'static> {
    ptr: AtomicPtr<T>,
    /// Shared between threads only if `&T` may be: `T: Sync`.
    _refs: PhantomData<&'static T>,
}

#[inline(always)]
fn as_ptr<T>(r: Option<&T>) -> *mut T {
    r.map_or(ptr::null_mut(), |r| ptr::from_ref(r).cast_mut())
}

impl<T: 'static> AtomicRef<T> {
    pub const fn none() -> AtomicRef<T> {
        AtomicRef { ptr: AtomicPtr::new(ptr::null_mut()), _refs: PhantomData }
    }

    #[inline(always)]
    pub fn load(&self, order: Ordering) -> Option<&'static T> {
        // SAFETY: only `&'static T`s (or None) are ever stored.
        unsafe { self.ptr.load(order).as_ref() }
    }

    #[inline(always)]
    pub fn store(&self, r: Option<&'static T>, order: Ordering) {
        self.ptr.store(as_ptr(r), order);
    }

    #[inline(always)]
    pub fn swap(&self, r: Option<&'static T>, order: Ordering) -> Option<&'static T> {
        // SAFETY: as in `load`.
        unsafe { self.ptr.swap(as_ptr(r), order).as_ref() }
    }

    /// Stores `new` if the cell holds `current` (compared by address).
    #[inline(always)]
    pub fn compare_exchange(
        &self,
        current: Option<&T>,
        new: Option<&'static T>,
        success: Ordering,
        failure: Ordering,
    ) -> Result<Option<&'static T>, Option<&'static T>> {
        // SAFETY: as in `load`.
        let found = |p: *mut T| unsafe { p.as_ref() };
        self.ptr.compare_exchange(as_ptr(current), as_ptr(new), success, failure).map(found).map_err(found)
    }

    /// Pushes `node` on the push-only list whose head is this cell and
    /// whose links are `link(node)`. Release: a thread that walks the list
    /// from the head (Acquire) sees `node` as it was before the push.
    pub fn push(&self, node: &'static T, link: impl Fn(&T) -> &AtomicRef<T>) {
        let mut head = self.load(Ordering::Relaxed);
        loop {
            link(node).store(head, Ordering::Relaxed);
            match self.compare_exchange(head, Some(node), Ordering::Release, Ordering::Relaxed) {
                Ok(_) => return,
                Err(h) => head = h,
            }
        }
    }

    /// Whether the cell refers to `r` (compared by address).
    #[inline(always)]
    pub fn is(&self, r: &T, order: Ordering) -> bool {
        ptr::eq(self.ptr.load(order), r)
    }

    #[inline(always)]
    pub fn is_none(&self, order: Ordering) -> bool {
        self.ptr.load(order).is_null()
    }
}

/// A field with a single owner at any moment, written where the field is
/// declared ("Owner: ..."). Reading and writing it is `unsafe`: the caller
/// states, at the call, why it is the owner.
///
/// Owners are of several kinds (a thread, the M holding a P, a goroutine
/// that moves between threads, the holder of a lock, sysmon), so there is
/// no single identity a debug build could record and check; and a checked
/// API would still be unsound in release builds. The proof stays at the
/// call.
#[repr(transparent)]
pub struct OwnedCell<T>(UnsafeCell<T>);

// SAFETY: every access is by the field's single owner (each accessor is
// unsafe and requires it), so no data race is possible.
unsafe impl<T> Sync for OwnedCell<T> {}

impl<T: Copy> OwnedCell<T> {
    /// # Safety
    /// The caller is the field's owner.
    #[inline(always)]
    pub unsafe fn get(&self) -> T {
        // SAFETY: only the owner reads or writes the value (caller).
        unsafe { *self.0.get() }
    }

    /// # Safety
    /// The caller is the field's owner.
    #[inline(always)]
    pub unsafe fn set(&self, v: T) {
        // SAFETY: as in `get`.
        unsafe { *self.0.get() = v }
    }

    /// # Safety
    /// The caller is the field's owner.
    #[inline(always)]
    pub unsafe fn replace(&self, v: T) -> T {
        // SAFETY: as in `get`.
        unsafe { core::ptr::replace(self.0.get(), v) }
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

    /// The field's address, for the owner's raw accesses (a context switch
    /// saving a stack pointer, a system call filling a CPU mask).
    pub fn as_ptr(&self) -> *mut T {
        self.0.get()
    }
}
