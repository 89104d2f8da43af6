-- One row per user: the latest file version wins, and within it the first line (the source repeats some).
with ranked as (
    select
        *,
        row_number() over (partition by id order by _file_version desc, _line) as rank_in_key
    from {{ source('bronze', 'users') }}
)

select
    cast(id as {{ dbt.type_bigint() }}) as user_id,
    name,
    user_name,
    city,
    street_address,
    phone_number,
    birth_number,
    administrative_unit,
    description,
    jobs,
    _ingested_at as ingested_at
from ranked
where rank_in_key = 1
