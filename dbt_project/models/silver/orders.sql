{{ config(materialized='incremental', incremental_strategy='append') }}
-- Orders, typed and snake_cased; each orderId once. Incremental: only orders bronze took since the last run.
-- Not deduplicated by a window: bronze takes the database's orders once (key ranges above a watermark, each
-- committed with its rows; a repeat fails bronze's blocking key check) and this model's unique test would
-- fail the build. The window cost 40 s of a medium build and ~20 GB of spill at the large scale.
with new_rows as (
    select
        cast(orderId as {{ dbt.type_bigint() }}) as order_id,
        cast(userId as {{ dbt.type_bigint() }}) as user_id,
        cast(orderDate as {{ dbt.type_timestamp() }}) as order_date,
        cast(orderValue as {{ double_type() }}) as order_value,
        _ingested_at
    from {{ source('bronze', 'orders') }} as b
    {{ new_bronze_rows('b') }}
)

select
    order_id,
    user_id,
    order_date,
    order_value,
    _ingested_at
from new_rows as d
where
    true
    {{ not_already_loaded(['order_id'], candidates='new_rows') }}  -- noqa: LT02
