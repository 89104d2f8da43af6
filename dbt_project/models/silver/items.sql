{{ config(materialized='incremental', incremental_strategy='append') }}
-- Order items, typed; each (orderId, rowId) once. Incremental like orders, and like them not deduplicated
-- again: bronze takes each key once (see orders.sql).
with new_rows as (
    select
        cast(orderId as {{ dbt.type_bigint() }}) as order_id,
        cast(rowId as {{ dbt.type_bigint() }}) as row_id,
        cast(productId as {{ dbt.type_bigint() }}) as product_id,
        _ingested_at
    from {{ source('bronze', 'items') }} as b
    {{ new_bronze_rows('b') }}
)

select
    order_id,
    row_id,
    product_id,
    _ingested_at
from new_rows as d
where
    true
    {{ not_already_loaded(['order_id', 'row_id'], candidates='new_rows') }}  -- noqa: LT02
