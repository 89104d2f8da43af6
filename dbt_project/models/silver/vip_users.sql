-- VIP users that are users, from what the VIP files hold now (each file's latest version, as silver.users):
-- the VIP file can name ids the users file does not have (dropped here).
select distinct cast(v.id as {{ dbt.type_bigint() }}) as user_id
from {{ latest_file_versions(source('bronze', 'vip_users')) }} as v
inner join {{ ref('users') }} as u on v.id = u.user_id
