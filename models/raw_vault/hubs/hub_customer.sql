-- Customers as the ERP, the CRM and orders know them. The business key is
-- the pair (customer_id, lead_contact_id): an ERP customer key, or for a
-- CRM lead without one, its CRM contact id. Every model hashes both, in
-- this order, so the two key spaces cannot collide.
with customers as (

    select * from {{ ref('stg_erp__customers') }}

),

contacts as (

    select * from {{ ref('stg_crm__contacts') }}

),

orders as (

    select * from {{ ref('stg_erp__orders') }}

),

customers_keyed as (

    select
        {{ vault_hash(['customer_id', 'null']) }} as customer_hk,
        customer_id,
        cast(null as bigint) as lead_contact_id,
        loaded_at as load_at,
        'erp.customer' as record_source
    from customers

),

contact_keys as (

    select
        customer_id,
        loaded_at,
        case
            when customer_id is null then contact_id
        end as lead_contact_id
    from contacts

),

contacts_keyed as (

    select
        {{ vault_hash(['customer_id', 'lead_contact_id']) }} as customer_hk,
        customer_id,
        lead_contact_id,
        loaded_at as load_at,
        'crm.contacts' as record_source
    from contact_keys

),

orders_keyed as (

    select
        {{ vault_hash(['customer_id', 'null']) }} as customer_hk,
        customer_id,
        cast(null as bigint) as lead_contact_id,
        loaded_at as load_at,
        'erp.orders' as record_source
    from orders

),

{{ vault_hub(
    ['customers_keyed', 'contacts_keyed', 'orders_keyed'],
    'customer_hk',
    ['customer_id', 'lead_contact_id'],
) }}

select * from final
