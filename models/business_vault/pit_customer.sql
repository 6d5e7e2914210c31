-- Point in time of every customer at each daily snapshot date: which row
-- of each customer satellite was in force at the end of that day.
with hub_customer as (

    select * from {{ ref('hub_customer') }}

),

sat_customer__erp_details as (

    select * from {{ ref('sat_customer__erp_details') }}

),

sat_customer__erp_pii as (

    select * from {{ ref('sat_customer__erp_pii') }}

),

sat_customer__crm_contact as (

    select * from {{ ref('sat_customer__crm_contact') }}

),

sat_customer__crm_pii as (

    select * from {{ ref('sat_customer__crm_pii') }}

),

{{ vault_pit(
    'hub_customer',
    'customer_hk',
    [
        'sat_customer__erp_details',
        'sat_customer__erp_pii',
        'sat_customer__crm_contact',
        'sat_customer__crm_pii',
    ],
) }}

select * from final
