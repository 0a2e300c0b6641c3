"""The simulator: realistic application events for demos, tests and benchmarks.

Pure generation with Kafka at the edge::

    world (units' habits) ─► generate (applications, lifecycles) ─► faults ─► produce (Kafka)

- ``stream.prepare(refdata, seed=, now=, history_days=, rate=, scenario=, tz=)`` → ``Plan``
  and ``stream.messages(plan, faults=, live=)`` → the messages in sending order (pure);
- ``generate.generate(world, seed=, start=, end=, applications_per_day=)`` → events in time order;
- ``produce.produce(refdata, bootstrap=, topic=, tz=, ...)`` → ``Summary`` (Kafka);
- ``cli.register(app)`` adds ``ioc simulate``.

Same seed, same events: each local half-hour draws its arrivals from a generator seeded by
the seed and that half-hour, so history with the same seed and end is byte-identical.

Rates (``rates.py``; a range is drawn per unit, so maps are not uniform):

- *Arrivals* (``shape.py``): counter filings in office hours 7:30-11:30 and 13:30-17:00,
  busiest 8:30-10:30 and 14:00-15:30, a lunch dip, Monday 15 % above and Friday 10 % below
  midweek, Saturday mornings at 30 %, none on Sundays and holidays; online filings spread
  from 7:00 to 22:00 with an evening shoulder (19-22 h about half the office peak), 40 % on
  Saturdays, 30 % on Sundays, 25 % on holidays.
- *Where*: units' sizes are log-normal around a base per level (province 6, district 2.5,
  commune 1); communes also receive district (30 %) and provincial (20 %) procedures;
  the 25 essential services (Decision 06) are weighted 4x.
- *Online share*: per unit, P(online) for a procedure offered ``full`` is drawn in 8-85 %
  (70 % of that for ``partial``, 0 for ``none``): on the default set units spread over
  about 10-70 %, about 37 % overall, between the provinces' full-online 16.9-18.5 % and the
  national 45.8 % of DOMAIN.md (end 2024 / October 2025), under the 50 % demo target.
  2 % of counter filings come by post.
- *VNeID* 60-92 % online, 20-50 % at the counter; *data reuse* 15-60 % (target 80 %).
- *Intake*: received 1-15 min after a counter filing; online ones about 40 min later within
  office hours (the morning queue for the night's); postal ones 1-3 working days later.
  Not accepted at intake: 5 % online, 3 % postal, 1 % at the counter. Due at 17:00 of the
  ``max_days``-th working day after receipt (public holidays and make-up days from the
  reference data; with none listed, weekends only).
- *Processing*: per unit 1-12 % resolved late (1-8 working days after the deadline; skewed
  low, about 4 % on average, so on-time is near the 95 % target), the rest within the
  deadline; 10 % get one supplement request and 1.5 % two (waits of 0.5-7 days, which
  push the decision back); 1 % withdrawn; decisions 2.5 % refused, 0.8 % stopped, the
  rest approved; electronic results for approved document results 75-97 % online, 10-40 %
  at the counter.
- *Digitization*: 97 % of online files, 45-95 % per unit at the counter (around the 80 %
  target); 85 % of document results of digitized files.
- *Fees* (10,000-500,000 VND): paid online by 55-95 % of online filers and 5-30 % at the
  counter (around 40 % overall, under the 50 % demo target).
- *Return*: 97 % of results collected (online filings of ``full`` procedures mostly online,
  counter ones mostly in person); *ratings* from 15 % of online and 6 % of counter
  applicants, 87 % scoring 4-5 when on time, mostly 1-3 when late or refused.

A history starts empty: applications filed before its first day are not simulated, so the
first days of a history have fewer resolutions than later ones.
"""
