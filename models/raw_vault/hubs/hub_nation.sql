-- Nations, keyed by the ERP nation key, from nations, customers and
-- suppliers.
with nations as (

    select * from {{ ref('stg_erp__nations') }}

),

customers as (

    select * from {{ ref('stg_erp__customers') }}

),

suppliers as (

    select * from {{ ref('stg_erp__suppliers') }}

),

nations_keyed as (

    select
        {{ vault_hash(['nation_id']) }} as nation_hk,
        nation_id,
        loaded_at as load_at,
        'erp.nation' as record_source
    from nations

),

customers_keyed as (

    select
        {{ vault_hash(['nation_id']) }} as nation_hk,
        nation_id,
        loaded_at as load_at,
        'erp.customer' as record_source
    from customers

),

suppliers_keyed as (

    select
        {{ vault_hash(['nation_id']) }} as nation_hk,
        nation_id,
        loaded_at as load_at,
        'erp.supplier' as record_source
    from suppliers

),

{{ vault_hub(
    ['nations_keyed', 'customers_keyed', 'suppliers_keyed'],
    'nation_hk',
    ['nation_id'],
) }}

select * from final
