//! The data stack as it crosses the boundary: 8-byte little-endian cells, bottom first.

/// The bytes of `cells`, each as 8 little-endian bytes.
pub fn cells_to_bytes(cells: &[i64]) -> Vec<u8> {
    cells.iter().flat_map(|cell| cell.to_le_bytes()).collect()
}

/// The cells in `bytes`, 8 little-endian bytes each; trailing bytes short of a cell are not
/// a cell and are left out.
pub fn cells_from_bytes(bytes: &[u8]) -> Vec<i64> {
    bytes
        .chunks_exact(8)
        .map(|cell| i64::from_le_bytes(cell.try_into().expect("an 8-byte chunk")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_round_trip_little_endian_and_a_partial_cell_is_dropped() {
        let cells = [1, -1, i64::MIN, 0x0102_0304_0506_0708];
        let bytes = cells_to_bytes(&cells);
        assert_eq!(bytes.len(), 32);
        assert_eq!(bytes[..8], [1, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(bytes[24..], [8, 7, 6, 5, 4, 3, 2, 1]);
        assert_eq!(cells_from_bytes(&bytes), cells);
        assert_eq!(
            cells_from_bytes(&[bytes.as_slice(), &[9, 9]].concat()),
            cells
        );
        assert_eq!(cells_from_bytes(&[]), Vec::<i64>::new());
    }
}
