-- One row per product: the latest version of its file.
with ranked as (
    select
        *,
        row_number() over (partition by id order by _file_version desc, _line asc) as rank_in_key
    from {{ source('bronze', 'products') }}
)

select
    cast(id as {{ dbt.type_bigint() }}) as product_id,
    name,
    description,
    pages,
    {{ array_size('pages') }} as page_count,
    cast(price as {{ double_type() }}) as price,
    _ingested_at as ingested_at
from ranked
where rank_in_key = 1
