//! The bookkeeping of the ALLOCATE heap (`Heap`): which regions at the top of data space
//! are in use, kept outside data space where the program cannot corrupt it. The words
//! that use it are in `allocate`.

use crate::memory::{self, CELL};

/// The allocated regions of the heap: start address and size (cell-aligned), all at or above
/// `floor`; the heap spans `floor..top` where `top` is the end of the program's data space.
/// A vector sorted by start: ALLOCATE's first fit walks every region anyway, so an ordered
/// map would not make it faster, and its code is 9 KB of the engine plugin.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Heap {
    regions: Vec<(usize, usize)>,
    floor: Option<usize>,
}

impl Heap {
    /// The lowest heap address, or `top` (the end of data space) when nothing is allocated.
    pub fn floor(&self, top: usize) -> usize {
        self.floor.unwrap_or(top)
    }

    /// The regions in use, lowest first.
    pub fn regions(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.regions.iter().copied()
    }

    /// The size of the region that starts at `start`, if one does.
    pub fn size_at(&self, start: usize) -> Option<usize> {
        let at = self.position(start).ok()?;
        Some(self.regions[at].1)
    }

    fn position(&self, start: usize) -> Result<usize, usize> {
        self.regions
            .binary_search_by_key(&start, |&(region, _)| region)
    }

    /// Rebuilds a heap from regions read back (a state image): each region must lie in
    /// `here..top`, cell-aligned and apart from the others.
    pub fn from_regions(regions: &[(usize, usize)], here: usize, top: usize) -> Option<Heap> {
        let mut heap = Heap::default();
        let mut previous_end = here;
        for &(start, size) in regions {
            let end = start.checked_add(size)?;
            if start < previous_end || end > top || start % CELL != 0 || size == 0 {
                return None;
            }
            heap.regions.push((start, size));
            previous_end = end;
        }
        heap.floor = heap.regions.first().map(|&(start, _)| start);
        Some(heap)
    }

    /// A free range of `size` bytes: the first gap between regions that fits, else room
    /// below the floor down to `here`.
    fn find_room(&self, size: usize, here: usize, top: usize) -> Option<usize> {
        let mut gap_start = self.floor(top);
        for &(start, len) in &self.regions {
            if start - gap_start >= size {
                return Some(gap_start);
            }
            gap_start = start + len;
        }
        if top.saturating_sub(gap_start) >= size {
            return Some(gap_start);
        }
        let start = self.floor(top).checked_sub(size)? & !(CELL - 1);
        (start >= memory::aligned(here)).then_some(start)
    }

    pub(crate) fn allocate(&mut self, size: usize, here: usize, top: usize) -> Option<usize> {
        let size = memory::aligned(size.max(1));
        let start = self.find_room(size, here, top)?;
        let at = self.position(start).unwrap_or_else(|at| at);
        self.regions.insert(at, (start, size));
        self.floor = Some(self.floor(top).min(start));
        Some(start)
    }

    pub(crate) fn free(&mut self, start: usize) -> Option<usize> {
        let (_, size) = self.regions.remove(self.position(start).ok()?);
        self.floor = self.regions.first().map(|&(start, _)| start);
        Some(size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freed_gaps_are_reused_before_the_heap_grows() {
        let mut heap = Heap::default();
        let a = heap.allocate(16, 0, 1024).unwrap();
        let b = heap.allocate(16, 0, 1024).unwrap();
        assert_eq!((a, b), (1008, 992));
        heap.free(a).unwrap();
        assert_eq!(heap.allocate(8, 0, 1024), Some(1008));
        assert_eq!(heap.floor(1024), 992);
    }

    #[test]
    fn the_heap_stops_at_here() {
        let mut heap = Heap::default();
        assert_eq!(heap.allocate(100, 1000, 1024), None);
        assert_eq!(heap.allocate(24, 1000, 1024), Some(1000));
    }
}
