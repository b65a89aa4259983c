-- The workspace entry's allowlist test, inlined (docs/benchmarks.md, *The allowlist test
-- inlined*).
--
-- `tessera_ip_allowed` held a subquery (`EXISTS` over `unnest`). PostgreSQL does not inline
-- such a SQL function, so `tessera_enter_v3` called it as a function of its own; PL/pgSQL
-- sets its expressions up afresh in every transaction, so every request parsed and planned
-- the body again, whether the workspace had a list or not. The same test as one expression
-- without a subquery — `<<=` against `ANY` of the list — is inlined into the entry's
-- expression, planned once per session. Nothing calling it changes: the entry's cached
-- expression is re-planned when this function is replaced.
--
-- The same answers: an empty list admits every address; a non-empty one admits an address
-- inside one of its networks and refuses an unknown (NULL) one (`coalesce`: `ANY` over a
-- NULL address is NULL). Address families never match each other. Lists hold no NULL entry
-- (`tessera_set_ip_allowlist` refuses one).
CREATE OR REPLACE FUNCTION tessera_ip_allowed(list cidr[], addr inet) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT pg_catalog.cardinality(list) = 0
        OR coalesce(addr OPERATOR(pg_catalog.<<=) ANY (list), false)
$$;
