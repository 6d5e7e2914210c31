-- How a mart is served from the vault: customer attributes as of each
-- snapshot date, joining each satellite on the (hash key, load_at) the PIT
-- names, by equality only, instead of finding the right version of every
-- satellite with range joins. A ghost pointer finds the ghost row, whose
-- attributes are null.
with pit_customer as (

    select * from {{ ref('pit_customer') }}

),

hub_customer as (

    select * from {{ ref('hub_customer') }}

),

sat_customer__erp_details as (

    select * from {{ ref('sat_customer__erp_details') }}

),

sat_customer__crm_contact as (

    select * from {{ ref('sat_customer__crm_contact') }}

),

final as (

    select
        cast(pit_customer.customer_hk as {{ type_text() }}) as customer_hk,
        pit_customer.snapshot_date,
        hub_customer.customer_id,
        hub_customer.lead_contact_id,
        erp_details.customer_name,
        erp_details.market_segment,
        erp_details.account_balance,
        crm_contact.contact_id,
        crm_contact.lifecycle_stage,
        crm_contact.loyalty_tier,
        crm_contact.preferred_channel,
        crm_contact.has_marketing_consent
    from pit_customer
    inner join hub_customer
        on pit_customer.customer_hk = hub_customer.customer_hk
    inner join sat_customer__erp_details as erp_details
        on
            pit_customer.sat_customer__erp_details_hk
            = erp_details.customer_hk
            and pit_customer.sat_customer__erp_details_load_at
            = erp_details.load_at
    inner join sat_customer__crm_contact as crm_contact
        on
            pit_customer.sat_customer__crm_contact_hk
            = crm_contact.customer_hk
            and pit_customer.sat_customer__crm_contact_load_at
            = crm_contact.load_at

)

select * from final
