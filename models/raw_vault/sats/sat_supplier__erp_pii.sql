-- A supplier's address and phone, masked exactly as in staging (salted
-- SHA-256), kept apart so access can be limited to it.
with suppliers as (

    select * from {{ ref('stg_erp__suppliers') }}

),

suppliers_keyed as (

    select
        {{ vault_hash(['supplier_id']) }} as supplier_hk,
        street_address_hash,
        phone_number_hash,
        loaded_at as load_at,
        'erp.supplier' as record_source
    from suppliers

),

{{ vault_sat(
    'suppliers_keyed',
    'supplier_hk',
    'supplier_hashdiff',
    [
        'street_address_hash',
        'phone_number_hash',
    ],
) }}

select * from final
