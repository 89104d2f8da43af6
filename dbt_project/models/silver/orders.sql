{{ config(materialized='incremental', incremental_strategy='append') }}
-- Orders, typed and snake_cased; each orderId once. Incremental: only orders bronze took since the last run.
with ranked as (
    select
        cast(orderId as {{ dbt.type_bigint() }}) as order_id,
        cast(userId as {{ dbt.type_bigint() }}) as user_id,
        cast(orderDate as {{ dbt.type_timestamp() }}) as order_date,
        cast(orderValue as {{ double_type() }}) as order_value,
        _ingested_at,
        row_number() over (partition by orderId order by _ingested_at) as rank_in_key
    from {{ source('bronze', 'orders') }} as b
    {{ new_bronze_rows('b') }}
)

select
    order_id,
    user_id,
    order_date,
    order_value,
    _ingested_at
from ranked as d
where
    d.rank_in_key = 1
    {{ not_already_loaded(['order_id']) }}  -- noqa: LT02
