{{ config(materialized='incremental', incremental_strategy='append') }}
-- Star ratings (1-5), typed, each event once. Incremental like pageviews.
with ranked as (
    select
        event_id,
        {{ iso_timestamp('event_time') }} as event_time,
        cast(user_id as {{ dbt.type_bigint() }}) as user_id,
        cast(stars as {{ dbt.type_int() }}) as stars,
        _enqueued_time as enqueued_time,
        _ingested_at,
        row_number() over (partition by event_id order by _partition, _sequence_number) as rank_in_key
    from {{ source('bronze', 'stars') }} as b
    {{ new_bronze_rows('b') }}
)

select
    event_id,
    event_time,
    user_id,
    stars,
    enqueued_time,
    _ingested_at
from ranked as d
where
    d.rank_in_key = 1
    {{ not_already_loaded(['event_id']) }}  -- noqa: LT02
