-- Reconciliation: every business key the sources hold now is in its hub
-- (hubs only grow, so they may hold more: keys deleted since, which the
-- record-tracking satellites end). Returns each missing key with its hub.
with orders as (

    select * from {{ ref('stg_erp__orders') }}

),

order_lines as (

    select * from {{ ref('stg_erp__order_lines') }}

),

parts as (

    select * from {{ ref('stg_erp__parts') }}

),

suppliers as (

    select * from {{ ref('stg_erp__suppliers') }}

),

nations as (

    select * from {{ ref('stg_erp__nations') }}

),

contacts as (

    select * from {{ ref('stg_crm__contacts') }}

),

hub_order as (

    select * from {{ ref('hub_order') }}

),

hub_part as (

    select * from {{ ref('hub_part') }}

),

hub_supplier as (

    select * from {{ ref('hub_supplier') }}

),

hub_nation as (

    select * from {{ ref('hub_nation') }}

),

hub_customer as (

    select * from {{ ref('hub_customer') }}

),

source_keys as (

    select
        'hub_order' as hub_name,
        {{ vault_hash(['order_id']) }} as hash_key
    from orders
    union all
    select
        'hub_order' as hub_name,
        {{ vault_hash(['order_id']) }} as hash_key
    from order_lines
    union all
    select
        'hub_part' as hub_name,
        {{ vault_hash(['part_id']) }} as hash_key
    from parts
    union all
    select
        'hub_part' as hub_name,
        {{ vault_hash(['part_id']) }} as hash_key
    from order_lines
    union all
    select
        'hub_supplier' as hub_name,
        {{ vault_hash(['supplier_id']) }} as hash_key
    from suppliers
    union all
    select
        'hub_supplier' as hub_name,
        {{ vault_hash(['supplier_id']) }} as hash_key
    from order_lines
    union all
    select
        'hub_nation' as hub_name,
        {{ vault_hash(['nation_id']) }} as hash_key
    from nations
    union all
    select
        'hub_customer' as hub_name,
        {{ vault_hash(['customer_id', 'null']) }} as hash_key
    from orders
    union all
    select
        'hub_customer' as hub_name,
        {{ vault_hash([
            'customer_id',
            'case when customer_id is null then contact_id end',
        ]) }} as hash_key
    from contacts

),

hub_keys as (

    select
        'hub_order' as hub_name,
        order_hk as hash_key
    from hub_order
    union all
    select
        'hub_part' as hub_name,
        part_hk as hash_key
    from hub_part
    union all
    select
        'hub_supplier' as hub_name,
        supplier_hk as hash_key
    from hub_supplier
    union all
    select
        'hub_nation' as hub_name,
        nation_hk as hash_key
    from hub_nation
    union all
    select
        'hub_customer' as hub_name,
        customer_hk as hash_key
    from hub_customer

),

final as (

    select distinct
        source_keys.hub_name,
        source_keys.hash_key
    from source_keys
    left join hub_keys
        on
            source_keys.hub_name = hub_keys.hub_name
            and source_keys.hash_key = hub_keys.hash_key
    where hub_keys.hash_key is null

)

select * from final
