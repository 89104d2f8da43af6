-- VIP users that are users: the VIP file can name ids the users file does not have (dropped here).
select distinct cast(v.id as {{ dbt.type_bigint() }}) as user_id
from {{ source('bronze', 'vip_users') }} as v
inner join {{ ref('users') }} as u on u.user_id = v.id
where v._file_version = (select max(_file_version) from {{ source('bronze', 'vip_users') }})
