{{ config(materialized='incremental', incremental_strategy='append') }}
-- Order items, typed; each (orderId, rowId) once. Incremental like orders.
with ranked as (
    select
        cast(orderId as {{ dbt.type_bigint() }}) as order_id,
        cast(rowId as {{ dbt.type_bigint() }}) as row_id,
        cast(productId as {{ dbt.type_bigint() }}) as product_id,
        _ingested_at,
        row_number() over (partition by orderId, rowId order by _ingested_at) as rank_in_key
    from {{ source('bronze', 'items') }} as b
    {{ new_bronze_rows('b') }}
)

select
    order_id,
    row_id,
    product_id,
    _ingested_at
from ranked as d
where
    d.rank_in_key = 1
    {{ not_already_loaded(['order_id', 'row_id']) }}  -- noqa: LT02
