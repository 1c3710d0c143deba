use super::*;

/// (stream, signed hash, member for size 2, 3, 4) from PROTOCOL §4.
const WORKED: &[(&str, i64, [u64; 3])] = &[
    ("account-123", 2318431741638412123, [1, 1, 3]),
    ("account-123+retry", 2318431741638412123, [1, 1, 3]),
    ("order-abc", -8070080442485551184, [0, 2, 0]),
    ("payment-stream0", -870142150276481236, [0, 1, 0]),
    (
        "user-00000000-0000-0000-0000-000000000001",
        -3934587039931422528,
        [0, 0, 0],
    ),
    ("cat-é", 7412306613632936882, [0, 2, 2]),
    ("x-", -3162216497309240828, [0, 2, 0]),
];

#[test]
fn worked_examples_are_bit_exact() {
    for (stream, hash, members) in WORKED {
        let card = cardinal_id(stream).unwrap();
        assert_eq!(hash_64(card), *hash, "hash_64 of {stream}");
        for (size, want) in [2i64, 3, 4].iter().zip(members) {
            for member in 0..*size {
                let group = ConsumerGroup::new(member, *size).unwrap();
                assert_eq!(
                    group.contains(stream),
                    member as u64 == *want,
                    "{stream} member {member} of {size}"
                );
            }
        }
    }
}

#[test]
fn signed_unsigned_trap() {
    // The unsigned reading of payment-stream0's hash is 0 mod 3; the correct member is 1.
    let unsigned = hash_64("stream0") as u64;
    assert_eq!(unsigned, 17576601923433070380);
    assert_eq!(unsigned % 3, 0);
    assert!(ConsumerGroup::new(1, 3)
        .unwrap()
        .contains("payment-stream0"));
    assert!(!ConsumerGroup::new(0, 3)
        .unwrap()
        .contains("payment-stream0"));
}

#[test]
fn sdk_ids_one_to_four_split_over_two_members() {
    let members: Vec<u64> = ["c-1", "c-2", "c-3", "c-4"]
        .iter()
        .map(|s| (group_hash(s).unwrap() as u64) % 2)
        .collect();
    assert_eq!(members, vec![0, 1, 0, 1]);
}

#[test]
fn streams_without_an_id_belong_to_no_member() {
    for member in 0..3 {
        assert!(!ConsumerGroup::new(member, 3).unwrap().contains("ledger"));
    }
}

#[test]
fn every_stream_has_exactly_one_member() {
    for i in 0..500 {
        let stream = format!("cat-{i}+x");
        let hits = (0..7)
            .filter(|m| ConsumerGroup::new(*m, 7).unwrap().contains(&stream))
            .count();
        assert_eq!(hits, 1, "{stream}");
    }
}

#[test]
fn invalid_groups_are_refused() {
    assert!(ConsumerGroup::new(0, 0).is_none());
    assert!(ConsumerGroup::new(-1, 2).is_none());
    assert!(ConsumerGroup::new(2, 2).is_none());
    assert!(ConsumerGroup::new(0, -3).is_none());
    assert!(ConsumerGroup::new(0, 1).is_some());
}
