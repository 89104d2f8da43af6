{{ config(materialized='incremental', incremental_strategy='append') }}
-- Pageviews, typed, each event once (the bus can deliver a record twice). Event time is when it
-- happened; enqueued time when the bus took it. Incremental: only events bronze took since the last run.
with ranked as (
    select
        event_id,
        {{ iso_timestamp('event_time') }} as event_time,
        cast(user_id as {{ dbt.type_bigint() }}) as user_id,
        http_method,
        uri,
        client_ip,
        user_agent,
        cast(latency as {{ double_type() }}) as latency_ms,
        _enqueued_time as enqueued_time,
        _ingested_at,
        row_number() over (partition by event_id order by _partition, _sequence_number) as rank_in_key
    from {{ source('bronze', 'pageviews') }} as b
    {{ new_bronze_rows('b') }}
)

select
    event_id,
    event_time,
    user_id,
    http_method,
    uri,
    client_ip,
    user_agent,
    latency_ms,
    enqueued_time,
    _ingested_at
from ranked as d
where
    d.rank_in_key = 1
    {{ not_already_loaded(['event_id']) }}  -- noqa: LT02
