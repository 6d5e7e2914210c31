-- Point in time of every part at each daily snapshot date: which row of
-- its details and of its price was in force at the end of that day.
with hub_part as (

    select * from {{ ref('hub_part') }}

),

sat_part__erp_details as (

    select * from {{ ref('sat_part__erp_details') }}

),

sat_part__erp_price as (

    select * from {{ ref('sat_part__erp_price') }}

),

{{ vault_pit(
    'hub_part',
    'part_hk',
    ['sat_part__erp_details', 'sat_part__erp_price'],
) }}

select * from final
