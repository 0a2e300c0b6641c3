-- A dead letter that was fixed and sent again records when, and where the new message went.
ALTER TABLE dead_letters
    ADD COLUMN replayed_at timestamptz,
    ADD COLUMN replayed_to text;
