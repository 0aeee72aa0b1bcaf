"""The day's exposure record (``model.exposure``): what the platform delivers is what the users
read, message by message; and the blocks the users hand back, counted per sender."""

import numpy as np

from model.exposure import Blocks, Exposure


def test_a_new_record_is_empty_with_the_users_dtypes():
    exposure = Exposure.open(5)
    assert len(exposure) == 5
    assert exposure.display_ads.dtype == np.float32 and exposure.influencer_posts.dtype == np.float32
    assert exposure.promo_messages.dtype == np.int16
    assert not exposure.display_ads.any() and not exposure.promo_messages.any()
    senders, recipients = exposure.marketing_deliveries
    assert len(senders) == len(recipients) == 0


def test_marketing_deliveries_are_kept_pair_by_pair_and_counted_per_user():
    exposure = Exposure.open(10)
    exposure.deliver_marketing(4, np.array([1, 2, 3]))  # one sender for all
    exposure.deliver_marketing(np.array([5, 6, 5]), np.array([2, 2, 9]))
    senders, recipients = exposure.marketing_deliveries
    assert senders.tolist() == [4, 4, 4, 5, 6, 5] and recipients.tolist() == [1, 2, 3, 2, 2, 9]
    assert exposure.promo_messages.tolist() == [0, 1, 3, 1, 0, 0, 0, 0, 0, 1]


def test_marketing_to_many_users_is_counted_as_to_few():
    """Counting switches from sorting to an array of all users when recipients are many."""
    exposure = Exposure.open(100)
    recipients = np.random.default_rng(1).integers(0, 100, 5000)
    exposure.deliver_marketing(0, recipients)
    np.testing.assert_array_equal(exposure.promo_messages, np.bincount(recipients, minlength=100))


def test_sponsored_messages_count_as_promotional_but_not_as_marketing():
    exposure = Exposure.open(4)
    exposure.deliver_sponsored(np.array([0, 3]))
    exposure.deliver_marketing(1, np.array([3]))
    assert exposure.promo_messages.tolist() == [1, 0, 0, 2]
    assert exposure.marketing_deliveries[1].tolist() == [3]


def test_blocks_count_per_sender():
    blocks = Blocks(senders=np.array([7, 8, 7]), users=np.array([1, 1, 2]), delivered_by={7: 5, 8: 1, 9: 4})
    assert blocks.per_sender() == {7: 2, 8: 1}
    assert Blocks(np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), {}).per_sender() == {}
