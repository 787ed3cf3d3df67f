-- +goose Up
-- Guards that make a commit's statements fail (and so roll back together)
-- instead of returning nothing: the store sends a commit's claims, releases
-- and appends as one pipelined batch in one implicit transaction, where only
-- an error can stop the later statements.

-- claim_unique reserves (scope, key) for owner, or fails with HC001 when
-- another owner holds it; claiming what the owner already holds succeeds.
-- +goose StatementBegin
CREATE FUNCTION claim_unique(p_scope text, p_key text, p_owner uuid) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE holder uuid;
BEGIN
    INSERT INTO unique_claims (scope, key, owner_id) VALUES (p_scope, p_key, p_owner)
    ON CONFLICT (scope, key) DO UPDATE SET scope = EXCLUDED.scope
    RETURNING owner_id INTO holder;
    IF holder <> p_owner THEN
        RAISE EXCEPTION 'unique key already claimed' USING ERRCODE = 'HC001', DETAIL = p_scope, HINT = p_key;
    END IF;
END $$;
-- +goose StatementEnd

-- events_version_conflict fails with HC002: an append whose expected version
-- did not hold wrote nothing.
-- +goose StatementBegin
CREATE FUNCTION events_version_conflict() RETURNS bigint
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'expected stream version did not hold' USING ERRCODE = 'HC002';
END $$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION events_version_conflict();
DROP FUNCTION claim_unique(text, text, uuid);
