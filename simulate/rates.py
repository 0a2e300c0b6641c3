"""The rates the simulator draws from, in one place (the package docstring explains them).

A pair ``(low, high)`` is the range a unit's own rate is drawn from (a Beta-shaped draw
between the bounds, fixed per unit by the seed), so units differ and maps are not uniform.
"""

from __future__ import annotations

Range = tuple[float, float]

# Who files where. A unit's size is drawn log-normally around its level's base size.
UNIT_SIZE = {"province": 6.0, "district": 2.5, "commune": 1.0}
UNIT_SIZE_SIGMA = 0.6
# How much of a unit's intake is for procedures of another level (since 2025 a citizen may
# file anywhere in the province; communes receive district and provincial files too).
FILED_AT = {
    ("commune", "commune"): 1.0,
    ("commune", "district"): 0.3,
    ("commune", "province"): 0.2,
    ("district", "district"): 1.0,
    ("district", "province"): 0.35,
    ("province", "province"): 1.0,
}
ESSENTIAL_WEIGHT = 4.0  # the 25 essential services of Decision 06 dominate volumes
PROCEDURE_SIGMA = 0.7  # spread of procedures' popularity
UNIT_PROCEDURE_SIGMA = 0.3  # and of each unit's own mix

# Channel. ONLINE_PROPENSITY is P(online | procedure offered "full") per unit; "partial"
# procedures are filed online PARTIAL_FACTOR times as often. With a typical catalog the
# online share of a unit's intake spreads over about 10-70 %.
ONLINE_PROPENSITY: Range = (0.08, 0.85)
PARTIAL_FACTOR = 0.7
POSTAL_SHARE = 0.02  # of counter filings, sent by public postal service (bưu chính công ích)
VNEID_ONLINE: Range = (0.6, 0.92)
VNEID_COUNTER: Range = (0.2, 0.5)
REUSED_DATA: Range = (0.15, 0.6)

# Intake.
NOT_ACCEPTED = {"online": 0.05, "postal": 0.03, "in_person": 0.01}
COUNTER_RECEIVE_S = (60, 900)  # received at the counter 1-15 min after filing
ONLINE_RECEIVE_MEAN_S = 40 * 60  # then rounded up to office hours
POSTAL_RECEIVE_DAYS = (1, 3)
DIGITIZED_ONLINE = 0.97  # the file is electronic already
DIGITIZED_COUNTER: Range = (0.45, 0.95)  # scanned at the one-stop shop (Directive 02)
DIGITIZED_RESULT = 0.85  # of document results approved for a digitized application

# Fees (procedures with has_fee), paid once received.
FEES_VND = (10_000, 20_000, 30_000, 50_000, 100_000, 200_000, 500_000)
PAY_ONLINE_IF_ONLINE: Range = (0.55, 0.95)
PAY_ONLINE_IF_COUNTER: Range = (0.05, 0.3)

# Processing.
WITHDRAWN = 0.01
ONE_SUPPLEMENT = 0.1
TWO_SUPPLEMENTS = 0.015
SUPPLEMENT_WAIT_DAYS = (0.5, 7.0)
LATE: Range = (0.01, 0.12)  # per unit; most near the bottom of the range
LATE_BY_WORKING_DAYS = (1, 8)
REFUSED = 0.025
STOPPED = 0.008
E_RESULT_ONLINE: Range = (0.75, 0.97)  # document results, approved
E_RESULT_COUNTER: Range = (0.1, 0.4)

# Return of results and ratings.
NOT_COLLECTED = 0.03
RETURN_CHANNEL = {  # how the result goes back, by how the application came in
    "online_full": (("online", 0.7), ("postal", 0.2), ("in_person", 0.1)),
    "online_partial": (("online", 0.25), ("postal", 0.15), ("in_person", 0.6)),
    "counter": (("in_person", 0.85), ("postal", 0.1), ("online", 0.05)),
}
RATED_ONLINE = 0.15
RATED_COUNTER = 0.06
SCORES_ON_TIME = ((5, 0.60), (4, 0.27), (3, 0.07), (2, 0.03), (1, 0.03))
SCORES_LATE = ((5, 0.15), (4, 0.20), (3, 0.20), (2, 0.20), (1, 0.25))
